import {Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {invalid} from '../core/errors.js'

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
/** A driver name becomes a file name under /run/docker/plugins: the volume-name rules keep it one. */
const DRIVER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

export default class Serve extends DotCommand<typeof Serve> {
  static override summary = 'Run the Docker volume plugin on a unix socket (what the docker-on-top service runs)'
  static override description = `Serves the Docker volume plugin protocol for dockerd. At start it refuses to run if another server answers on the socket, removes a stale socket file, and repairs the root after crashes or reboots (one log line per repair). SIGTERM or SIGINT stops it gracefully; volumes that containers use stay mounted.

Logs go to stderr (journald under systemd); stdout gets one line once the socket is ready.`
  static override enableJsonFlag = false
  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --name dot-test --socket /tmp/dot-test.sock --root /tmp/dot-root --log-level debug',
  ]
  static override flags = {
    name: Flags.string({description: 'volume driver name, as in `docker volume create --driver NAME`', default: 'docker-on-top', helpValue: 'NAME'}),
    socket: Flags.string({description: 'unix socket to listen on [default: /run/docker/plugins/<NAME>.sock]', env: 'DOT_SOCKET', helpValue: 'PATH'}),
    'log-level': Flags.option({
      options: LEVELS,
      default: 'info' as const,
      env: 'DOT_LOG_LEVEL',
      helpValue: 'LEVEL',
      description: 'least severe messages logged to stderr: debug (one line per request), info, warn or error',
    })(),
  }

  async run(): Promise<void> {
    const {name, root} = this.flags
    if (!DRIVER_NAME.test(name) || name.length > 200) {
      throw invalid(`invalid driver name ${JSON.stringify(name)}: a name starts with a letter or digit and contains only letters, digits, "_", "." and "-"`)
    }
    // The HTTP server and the FFI load only here, so other commands start fast.
    const {serve, defaultSocketPath, stderrLogger} = await import('../plugin/index.js')
    const logger = stderrLogger(this.flags['log-level'])
    process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`))
    const socket = this.flags.socket ?? defaultSocketPath(name)
    await serve({name, socket, root, logger, onReady: () => process.stdout.write(`listening on ${socket}\n`)})
  }
}
