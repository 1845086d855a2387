export {serve, type ServeOptions} from './serve.js'
export {defaultSocketPath} from './socket-file.js'
export {LOG_LEVELS, type LogLevel, stderrLogger} from './logger.js'
