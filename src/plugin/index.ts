export {serve, type ServeFlags} from './serve.js'
export {defaultSocketPath} from './socket-file.js'
export {LOG_LEVELS, type LogLevel, stderrLogger} from './logger.js'
