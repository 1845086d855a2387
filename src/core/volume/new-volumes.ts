import type {Flusher} from '../disk/flusher.js'
import type {BackgroundWork} from './background.js'

/**
 * New volumes are made durable right after their Create was answered, not before it (the fsyncs would
 * be most of a create's time); their first mount waits for that flush, so that a container's changes
 * never land in a volume whose metadata.json could read empty after a power cut. Only where the root's
 * file system does not keep metadata in order, or the metadata's xattr copy could not be set: elsewhere
 * a create records nothing here (create.ts, docs/rules.md rule 7).
 */
export class NewVolumes {
  /** name -> the completion of its flush, while pending. */
  private readonly unflushed = new Map<string, Promise<void>>()

  constructor(
    private readonly flusher: Flusher,
    private readonly background: BackgroundWork,
  ) {}

  /** Starts making `paths` of new volume `name` durable, in the background. */
  flush(name: string, paths: string[]): void {
    const flushed = this.flusher.flush(paths)
    this.unflushed.set(name, flushed)
    this.background.add(
      flushed.finally(() => {
        if (this.unflushed.get(name) === flushed) this.unflushed.delete(name)
      }),
    )
  }

  /** A first mount is coming: flushes waiting for more paths start now. */
  hurry(): void {
    this.flusher.hurry()
  }

  /** Waits until volume `name`, if it is new, has reached the disk. */
  async durable(name: string): Promise<void> {
    const unflushed = this.unflushed.get(name)
    if (!unflushed) return
    this.flusher.hurry()
    await unflushed
  }
}
