import {removeTree} from '../disk/deep-tree.js'
import type {Logger} from '../logger.js'
import {IdleQueue} from './idle-queue.js'

/** Work that follows an answer (trash deletion, flushing a new volume); `settled` awaits it. */
export class BackgroundWork {
  private readonly running = new Set<Promise<void>>()
  /** Deletions wait for a quiet moment (see IdleQueue). */
  private readonly idle = new IdleQueue()

  constructor(private readonly logger: Logger) {}

  add(work: Promise<void>): void {
    const tracked = work.finally(() => this.running.delete(tracked))
    this.running.add(tracked)
  }

  /** An operation is being served: deletions wait for the next quiet moment. */
  touch(): void {
    this.idle.touch()
  }

  /** Deletes a trash entry once the store is quiet; a failure is logged, `dot gc` retries it. */
  deleteTrash(trash: string): void {
    this.add(
      this.idle.add(() =>
        removeTree(trash).catch((err: Error) => {
          this.logger.warn(`deleting ${trash}: ${err.message} (dot gc will retry)`)
        }),
      ),
    )
  }

  /** Resolves once all work, including work added meanwhile, is done. */
  async settled(): Promise<void> {
    while (this.running.size > 0) {
      this.idle.hurry()
      await Promise.all(this.running)
    }
  }
}
