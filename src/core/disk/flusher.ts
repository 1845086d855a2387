import {errnoCode} from '../errors.js'
import {syncPath} from './atomic-write.js'

/** How long a flush waits for more paths before it starts; 0: at once (a burst batches while one runs). */
export const FLUSH_DELAY_MS = 0
/** fsyncs of one batch in flight together: one journal commit serves them all, one pool thread stays free. */
export const FLUSH_PARALLEL = 3

/**
 * fsyncs paths in the background, in batches: a flush starts as soon as a path is asked for (after
 * `delayMs`, if given), and what accumulates while a batch runs is the next batch, each path once, a
 * directory asked for again (the root) behind the files asked for since. Up to FLUSH_PARALLEL fsyncs
 * of a batch run together: on ext4 the first commits the journal transaction that holds the others'
 * changes too, so three paths cost one commit instead of a commit and two cache flushes in a row. A
 * new volume's flush thus starts right after its Create was answered and runs while dockerd's next
 * requests (Get, List) are answered, before its first Mount needs it.
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
      } else {
        // One turn of the event loop: the Create that asked is answered before the first fsync is queued.
        await new Promise((resolve) => setImmediate(resolve))
      }
      while (this.pending.size > 0) {
        const batch = [...this.pending]
        this.pending.clear()
        for (let i = 0; i < batch.length; i += FLUSH_PARALLEL) {
          await Promise.all(batch.slice(i, i + FLUSH_PARALLEL).map((p) => this.syncOne(p)))
        }
      }
    } finally {
      this.running = undefined
    }
  }

  private async syncOne(p: string): Promise<void> {
    // ENOENT: removed meanwhile (a remove renamed the volume to trash): nothing to make durable.
    await this.sync(p).catch((err: Error) => {
      if (errnoCode(err) !== 'ENOENT') this.onError(p, err)
    })
  }
}
