import {Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {runServe, SERVE_LOG_LEVELS as LEVELS} from '../cli/run-serve.js'

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
    metrics: Flags.string({
      description: 'serve Prometheus metrics at GET /metrics on HOST:PORT (e.g. 127.0.0.1:9323) or a unix socket path; off by default',
      env: 'DOT_METRICS',
      helpValue: 'ADDR',
    }),
    pidfile: Flags.string({
      description: 'write the process ID here once the socket is ready, and remove it on exit (for running without systemd)',
      helpValue: 'PATH',
    }),
    'log-level': Flags.option({
      options: LEVELS,
      default: 'info' as const,
      env: 'DOT_LOG_LEVEL',
      helpValue: 'LEVEL',
      description: 'least severe messages logged to stderr: debug (one line per request), info, warn or error',
    })(),
  }

  // The service's usual command lines skip oclif altogether (bin/run.js, cli/serve-without-oclif.ts);
  // both ways end in runServe.
  async run(): Promise<void> {
    const {name, root, socket, metrics, pidfile} = this.flags
    await runServe({name, root, logLevel: this.flags['log-level'], ...(socket ? {socket} : {}), ...(metrics ? {metrics} : {}), ...(pidfile ? {pidfile} : {})})
  }
}
