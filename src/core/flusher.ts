import {errnoCode} from './errors.js'
import {syncPath} from './atomic-write.js'

/**
 * fsyncs paths in the background, one at a time, with what accumulates meanwhile flushed as one batch
 * (a path asked for twice is flushed once, and a directory asked for again moves behind the files
 * asked for since, so the root is flushed after the volumes in it). One fsync in flight at most: 200
 * creates in a row each firing three fsyncs at once filled the thread pool, and the mount(2) calls
 * queued behind them (koffi's async calls use the same pool) took 1.5 ms instead of 0.25.
 */
export class Flusher {
  private readonly pending = new Set<string>()
  private running: Promise<void> | undefined

  constructor(
    private readonly onError: (path: string, err: Error) => void,
    private readonly sync: (path: string) => Promise<void> = syncPath,
  ) {}

  /** Resolves once `paths` (and whatever else is pending by then) reached the disk. */
  flush(paths: string[]): Promise<void> {
    for (const p of paths) {
      this.pending.delete(p)
      this.pending.add(p)
    }
    this.running ??= this.drain()
    return this.running
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const batch = [...this.pending]
        this.pending.clear()
        for (const p of batch) {
          // ENOENT: removed meanwhile (a remove renamed the volume to trash): nothing to make durable.
          await this.sync(p).catch((err: Error) => {
            if (errnoCode(err) !== 'ENOENT') this.onError(p, err)
          })
        }
      }
    } finally {
      this.running = undefined
    }
  }
}
