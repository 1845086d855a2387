import {isPlainName} from '../core/disk/names.js'
import {invalid} from '../core/errors.js'
import type {Logger} from '../core/logger.js'
import {type Finding, reconcile} from '../core/repair/reconcile.js'
import {VolumeStore} from '../core/volume/store.js'
import {type LogLevel, stderrLogger} from './logger.js'
import {PluginServer} from './server.js'
import {defaultSocketPath, prepareSocket} from './socket-file.js'

export interface ServeFlags {
  name: string
  root: string
  socket?: string
  logLevel: LogLevel
  /** `--metrics ADDR` (host:port or a unix socket path): Prometheus metrics; prom-client loads only then. */
  metrics?: string
  /** `--pidfile PATH`: written once the socket is ready, removed on exit (for running without systemd). */
  pidfile?: string
}

/**
 * `dot serve` from start to stop, the whole lifecycle in order: check the driver name, claim the socket
 * (refusing if a live server holds it), open the store, listen, say so on stdout, repair the root
 * (in the background, once the socket answers), and on SIGTERM/SIGINT stop accepting, let requests in
 * flight finish and wait for the repairs. Both ways into `dot serve` (the oclif command and the
 * service's fast path, cli/serve-without-oclif.ts) end here. Resolves when the server has stopped.
 * Mounts are never taken down on shutdown: running containers use them, and a restarted server finds
 * them again through their records.
 */
export async function serve(flags: ServeFlags): Promise<void> {
  const {name, root} = flags
  if (!isPlainName(name)) {
    throw invalid(`invalid driver name ${JSON.stringify(name)}: a name starts with a letter or digit and contains only letters, digits, "_", "." and "-"`)
  }
  const logger = stderrLogger(flags.logLevel)
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`))
  const socket = flags.socket ?? defaultSocketPath(name)
  // Watched from the first moment, so a stop during start-up ends it between steps, not mid-repair.
  const stop = watchStopSignals(logger)
  try {
    if (flags.pidfile) (await import('./pidfile.js')).preparePidfile(flags.pidfile)
    if ((await prepareSocket(socket)) === 'stale-removed') logger.warn(`removed a stale socket ${socket} (left by a server that did not shut down)`)
    const store = await VolumeStore.open({root, logger})
    if (stop.requested) return
    const metrics = flags.metrics ? await (await import('./metrics/metrics-server.js')).startMetrics(flags.metrics, store, logger) : undefined
    const server = new PluginServer(store, logger, metrics?.metrics.observe)
    await server.listen(socket).catch(async (err) => {
      await metrics?.close()
      throw err
    })
    logger.info(`listening on ${socket} as volume driver "${name}", root ${store.root}`)
    // Only once ready: a second server refused at start must not take over the first one's pidfile.
    if (flags.pidfile) {
      await writePidfileUntilExit(flags.pidfile).catch(async (err) => {
        // Not left listening behind an error: the caller reports it and the process exits.
        await server.close(socket)
        await metrics?.close()
        throw err
      })
    }
    process.stdout.write(`listening on ${socket}\n`)
    const background = [repairRoot(store, logger, metrics?.metrics), loadMounter(store, logger)]
    await stop.wait
    try {
      await server.close(socket)
    } finally {
      await Promise.all([...background, metrics?.close()])
      await store.close()
    }
    logger.info('stopped')
  } finally {
    stop.dispose()
  }
}

/**
 * The start-up repair, run once the socket answers: dockerd waits on a legacy plugin at its own start
 * (docs/plugin-protocol.md §9.10). Requests meanwhile are safe: every repair re-checks and runs under the volume's
 * lock, and Mount and Unmount handle stale records themselves. One log line per finding.
 */
async function repairRoot(store: VolumeStore, logger: Logger, metrics?: {countRepairs(findings: Finding[]): void}): Promise<void> {
  try {
    const findings = await reconcile(store.context)
    metrics?.countRepairs(findings)
    for (const finding of findings) {
      const line = `reconcile: ${finding.volume ? `volume "${finding.volume}": ` : ''}${finding.problem} (${finding.path}): ${finding.action}`
      if (finding.repaired) logger.info(line)
      else logger.warn(line)
    }
  } catch (err) {
    logger.error(`reconcile: ${(err as Error).message}`)
  }
}

/** Loads the FFI now rather than on the first Mount, and says which way mounts will be made. */
async function loadMounter(store: VolumeStore, logger: Logger): Promise<void> {
  try {
    logger.debug(`mounting with ${(await store.context.mounter()).constructor.name}`)
  } catch (err) {
    logger.error(`loading the mounter: ${(err as Error).message}`)
  }
}

/** SIGTERM or SIGINT: `wait` resolves, `requested` turns true. A second signal exits at once. */
function watchStopSignals(logger: Logger): {readonly requested: boolean; wait: Promise<void>; dispose(): void} {
  let requested = false
  let wake: () => void = () => {}
  const wait = new Promise<void>((resolve) => (wake = resolve))
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested) {
      logger.warn(`${signal} again: exiting without waiting for requests in flight`)
      process.exit(1)
    }
    requested = true
    logger.info(`${signal}: shutting down (mounted volumes stay mounted)`)
    wake()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  return {
    get requested() {
      return requested
    },
    wait,
    dispose() {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    },
  }
}

/** The pidfile, removed on 'exit' so that an exit forced by a second signal removes it too. */
async function writePidfileUntilExit(file: string): Promise<void> {
  const {writePidfile, removePidfile} = await import('./pidfile.js')
  writePidfile(file)
  process.once('exit', () => removePidfile(file))
}
