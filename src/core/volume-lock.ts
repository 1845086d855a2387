import {closeSync, openSync, rmSync, statSync, unlinkSync, utimesSync} from 'node:fs'
import fs from 'node:fs/promises'

import {busy, errnoCode, wrap} from './errors.js'
import {KeyedQueue} from './keyed-queue.js'
import type {Layout} from './layout.js'

export interface LockLogger {
  warn(message: string): void
}

/** How long a holder may go silent before its lock counts as abandoned; held locks are touched every half. */
const STALE_MS = 10_000
/** Waiting for longer than STALE_MS means a lock left by a killed process is always taken over. */
const WAIT_MS = 30_000
const BACKOFF = {factor: 1.3, min: 2, max: 100}

/**
 * One lock per volume shared by every process: `dot serve` and any `dot mount` run by hand take the
 * same `<root>/.locks/<name>.lock`. Inside one process a queue per volume sits in front of it. Held for
 * a whole create, remove, mount or unmount; reads take no lock.
 *
 * The lock is a file created with O_CREAT|O_EXCL (it exists: held), touched while held, unlinked on
 * release; one older than STALE_MS belongs to a dead process and is taken over (as proper-lockfile
 * does with its directories, which are read the same way). A file, not proper-lockfile's directory:
 * on ext4 mkdir+rmdir allocates and frees a directory block, ~0.35 ms on this kind of machine, against
 * ~0.02 ms for a file, and proper-lockfile adds an mtime probe and a callback chain on top (~0.65 ms
 * per lock in all); this lock is taken on every mount and unmount. Synchronous calls: the lock file
 * lives on the root's local disk and each call takes microseconds, less than a thread-pool hop.
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
    const file = `${this.layout.lockTarget(name)}.lock`
    const deadline = Date.now() + WAIT_MS
    for (let attempt = 0; ; attempt++) {
      const release = this.tryLockNow(name, file)
      if (release) return release
      if (isStale(file)) {
        // Its holder died (or it is a directory lock from proper-lockfile that nobody refreshes).
        this.logger.warn(`volume "${name}": taking over a stale lock ${file}`)
        rmSync(file, {recursive: true, force: true})
        continue
      }
      if (Date.now() > deadline) {
        throw busy(`volume "${name}" is locked by another process and the lock did not free up; try again`, {name, lock: file})
      }
      const delay = Math.min(BACKOFF.max, BACKOFF.min * BACKOFF.factor ** attempt) * (0.5 + Math.random())
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }

  /** Takes the lock if it is free; undefined if someone holds it. */
  private tryLockNow(name: string, file: string): (() => Promise<void>) | undefined {
    try {
      closeSync(openSync(file, 'wx', 0o600))
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') return undefined
      throw wrap(`taking the lock of volume "${name}"`, err)
    }
    // A long hold (a mount on a slow base) must never look stale to another process.
    const refresh = setInterval(() => {
      try {
        const now = new Date()
        utimesSync(file, now, now)
      } catch (err) {
        this.logger.warn(`lock of volume "${name}" was compromised: ${(err as Error).message}`)
      }
    }, STALE_MS / 2)
    refresh.unref()
    return async () => {
      clearInterval(refresh)
      try {
        unlinkSync(file)
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err
        this.logger.warn(`lock of volume "${name}" was compromised: ${file} was removed while held`)
      }
    }
  }
}

function isStale(file: string): boolean {
  try {
    return statSync(file).mtimeMs < Date.now() - STALE_MS
  } catch {
    return false // gone: free now, the next attempt takes it
  }
}
