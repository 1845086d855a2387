import {errnoCode} from '../errors.js'
import {syncPath} from './atomic-write.js'

/** How long a flush waits for more paths before it starts (a group commit). */
export const FLUSH_DELAY_MS = 20

/**
 * fsyncs paths in the background, one at a time, in batches: a flush starts FLUSH_DELAY_MS after the
 * first path asked for, and what accumulates meanwhile (or during a batch) is flushed together, each
 * path once, a directory asked for again (the root) behind the files asked for since. One fsync in
 * flight at most, so the thread pool (where koffi's async mount(2) calls wait too) stays free. The
 * delay turns a burst of creates into a few journal commits instead of one per create, which would
 * otherwise slow every request answered meanwhile.
 */
export class Flusher {
  private readonly pending = new Set<string>()
  private running: Promise<void> | undefined
  /** Ends the wait before the next batch early (see `hurry`). */
  private wake: (() => void) | undefined

  constructor(
    private readonly onError: (path: string, err: Error) => void,
    private readonly sync: (path: string) => Promise<void> = syncPath,
    private readonly delayMs = FLUSH_DELAY_MS,
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

  /** Starts the batch waiting for more now: someone needs it on disk (a first mount of a new volume). */
  hurry(): void {
    this.wake?.()
  }

  private async drain(): Promise<void> {
    try {
      if (this.delayMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.delayMs)
          this.wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        this.wake = undefined
      }
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
