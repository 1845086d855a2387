import fs from 'node:fs/promises'

import {busy} from './errors.js'
import {KeyedQueue} from './keyed-queue.js'
import type {Layout} from './layout.js'

export interface LockLogger {
  warn(message: string): void
}

/** How long a holder may go silent before its lock counts as abandoned (proper-lockfile's `stale`). */
const STALE_MS = 10_000
/** Retrying for longer than STALE_MS means a lock left by a killed process is always taken over. */
const RETRIES = {retries: 300, factor: 1.3, minTimeout: 2, maxTimeout: 100, randomize: true}

/**
 * One lock per volume shared by every process: `dot serve` and any `dot mount` run by hand take the
 * same `<root>/.locks/<name>.lock` directory (proper-lockfile, mkdir based, refreshed while held).
 * Inside one process a queue per volume sits in front of it. Held for a whole create, remove, mount or
 * unmount; reads take no lock.
 */
export class VolumeLocks {
  private readonly queue = new KeyedQueue()
  private locksDirReady: Promise<void> | undefined

  constructor(
    private readonly layout: Layout,
    private readonly logger: LockLogger,
  ) {}

  withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    return this.queue.run(name, async () => {
      const release = await this.acquire(name)
      try {
        return await task()
      } finally {
        await release().catch((err: Error) => this.logger.warn(`releasing lock of volume "${name}": ${err.message}`))
      }
    })
  }

  private async acquire(name: string): Promise<() => Promise<void>> {
    this.locksDirReady ??= fs.mkdir(this.layout.locks(), {recursive: true, mode: 0o700}).then(() => {})
    await this.locksDirReady
    const {default: lockfile} = await import('proper-lockfile')
    try {
      return await lockfile.lock(this.layout.lockTarget(name), {
        realpath: false,
        stale: STALE_MS,
        retries: RETRIES,
        // The default throws from a timer, which would kill `dot serve`. The work under the lock is short
        // and idempotent to retry, so losing the lock is logged, not fatal.
        onCompromised: (err) => this.logger.warn(`lock of volume "${name}" was compromised: ${err.message}`),
      })
    } catch (err) {
      throw busy(`volume "${name}" is locked by another process and the lock did not free up; try again`, {
        name,
        cause: (err as Error).message,
      })
    }
  }
}
