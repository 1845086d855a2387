import {removeTree} from '../disk/deep-tree.js'
import type {Logger} from '../logger.js'

/** Work that follows an answer (trash deletion, flushing a new volume); `settled` awaits it. */
export class BackgroundWork {
  private readonly running = new Set<Promise<void>>()

  constructor(private readonly logger: Logger) {}

  add(work: Promise<void>): void {
    const tracked = work.finally(() => this.running.delete(tracked))
    this.running.add(tracked)
  }

  /** Deletes a trash entry after the answer; a failure is logged, `dot gc` retries it. */
  deleteTrash(trash: string): void {
    this.add(
      removeTree(trash).catch((err: Error) => {
        this.logger.warn(`deleting ${trash}: ${err.message} (dot gc will retry)`)
      }),
    )
  }

  /** Resolves once all work, including work added meanwhile, is done. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }
}
