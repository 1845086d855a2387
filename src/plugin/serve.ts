import {reconcile} from '../core/repair/reconcile.js'
import {VolumeStore} from '../core/volume/store.js'
import type {Logger} from '../core/logger.js'
import {PluginServer} from './server.js'
import {prepareSocket} from './socket-file.js'

export interface ServeOptions {
  name: string
  socket: string
  root: string
  logger: Logger
  /** Called once the socket accepts requests. */
  onReady?: () => void
}

/**
 * `dot serve` from start to stop: claim the socket (refusing if a live server holds it), listen,
 * reconcile the root (DESIGN.md §4 rule 5), and on SIGTERM/SIGINT shut down gracefully. Resolves when the
 * server has stopped. Mounts are never taken down on shutdown: running containers use them, and a
 * restarted server finds them again through their records.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const {logger} = options
  let stopSignal: NodeJS.Signals | undefined
  let wake: (() => void) | undefined
  // Handled from the first moment, so a stop during start-up ends it between steps, not mid-repair.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal) {
      logger.warn(`${signal} again: exiting without waiting for requests in flight`)
      process.exit(1)
    }
    stopSignal = signal
    logger.info(`${signal}: shutting down (mounted volumes stay mounted)`)
    wake?.()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  try {
    const socketState = await prepareSocket(options.socket)
    if (socketState === 'stale-removed') logger.warn(`removed a stale socket ${options.socket} (left by a server that did not shut down)`)

    const store = await VolumeStore.open({root: options.root, logger})
    if (stopSignal) return

    const server = new PluginServer(store, logger)
    await server.listen(options.socket)
    logger.info(`listening on ${options.socket} as volume driver "${options.name}", root ${store.root}`)
    options.onReady?.()

    // Repairs run once the socket answers: dockerd waits on a legacy plugin at its own start (§9.10),
    // and with 10,000 volumes reconciling takes about a second. Requests meanwhile are safe: every repair
    // re-checks and runs under the volume's lock, and Mount and Unmount handle stale records themselves.
    const reconciled = reconcile(store.context)
      .then((findings) => {
        for (const finding of findings) {
          const line = `reconcile: ${finding.volume ? `volume "${finding.volume}": ` : ''}${finding.problem} (${finding.path}): ${finding.action}`
          if (finding.repaired) logger.info(line)
          else logger.warn(line)
        }
      })
      .catch((err: Error) => logger.error(`reconcile: ${err.message}`))
    // Loads the FFI now rather than on the first Mount, and says which way mounts will be made.
    const mounted = store.context
      .mounter()
      .then((mounter) => logger.debug(`mounting with ${mounter.constructor.name}`))
      .catch((err: Error) => logger.error(`loading the mounter: ${err.message}`))

    await new Promise<void>((resolve) => {
      wake = resolve
      if (stopSignal) resolve()
    })
    try {
      await server.close(options.socket)
    } finally {
      await Promise.all([reconciled, mounted])
      await store.close()
    }
    logger.info('stopped')
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
  }
}
