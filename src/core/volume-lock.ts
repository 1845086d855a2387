import fs from 'node:fs'
import {createRequire} from 'node:module'

import {busy, errnoCode, notFound, wrap} from './errors.js'
import {KeyedQueue} from './keyed-queue.js'
import type {Layout} from './layout.js'

export interface LockLogger {
  warn(message: string): void
}

/** How long a holder may go silent before its lock counts as abandoned (proper-lockfile's `stale`). */
const STALE_MS = 10_000
/** Retrying for longer than STALE_MS (about 30 s in all) means a lock left by a killed process is always taken over. */
const RETRIES = {retries: 300, factor: 1.3, minTimeout: 2, maxTimeout: 100, randomize: true}

type ProperLockfile = typeof import('proper-lockfile')

/**
 * One lock per volume shared by every process: `dot serve` and any `dot mount` run by hand take the
 * same `<root>/.locks/<name>.lock` through proper-lockfile (held while touched every STALE_MS/2,
 * taken over once older than STALE_MS). Inside one process a queue per volume sits in front of it.
 * Held for a whole create, remove, mount or unmount; reads take no lock.
 */
export class VolumeLocks {
  private readonly queue = new KeyedQueue()
  /** Tasks queued for each volume and not started yet. */
  private readonly waiting = new Map<string, number>()
  /** Locks handed from a finished task to the next one queued for the same volume. */
  private readonly held = new Map<string, () => Promise<void>>()
  private locksDirReady = false
  private lockfile: ProperLockfile | undefined

  constructor(
    private readonly layout: Layout,
    private readonly logger: LockLogger,
  ) {}

  withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    this.waiting.set(name, (this.waiting.get(name) ?? 0) + 1)
    return this.queue.run(name, async () => {
      const waiting = this.waiting.get(name)! - 1
      if (waiting > 0) this.waiting.set(name, waiting)
      else this.waiting.delete(name)
      // A burst (32 containers mounting one volume) takes the cross-process lock once: the next task
      // queued for the volume inherits it instead of releasing and re-taking it (a lock file created and
      // unlinked, 0.1-0.5 ms each on ext4 here). Other processes wait for the burst, as they would anyway.
      let release = this.held.get(name)
      if (release) this.held.delete(name)
      else release = await this.acquire(name)
      try {
        return await task()
      } finally {
        if (this.waiting.has(name)) this.held.set(name, release)
        else await release().catch((err: Error) => this.logger.warn(`releasing lock of volume "${name}": ${err.message}`))
      }
    })
  }

  private async acquire(name: string): Promise<() => Promise<void>> {
    if (!this.locksDirReady) {
      // Not recursive: a missing root holds no volume, and a mistyped --root must not be created by
      // `dot mount`/`dot rm` of a name that is not there (create makes the root itself, first).
      try {
        fs.mkdirSync(this.layout.locks(), {mode: 0o700})
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw notFound(`no such volume: ${name} (there is no store at ${this.layout.root})`, {name})
        if (errnoCode(err) !== 'EEXIST') throw wrap(`creating ${this.layout.locks()}`, err)
      }
      this.locksDirReady = true
    }
    // Loaded on first use (CommonJS): reads never pay for it.
    this.lockfile ??= createRequire(import.meta.url)('proper-lockfile') as ProperLockfile
    const options = {
      realpath: false,
      stale: STALE_MS,
      fs: lockFileFs,
      // The default throws from a timer, which would kill `dot serve`. The work under the lock is short
      // and safe to retry, so a lost lock is logged, not fatal.
      onCompromised: (err: Error) => this.logger.warn(`lock of volume "${name}" was compromised: ${err.message}`),
    }
    const target = this.layout.lockTarget(name)
    // Uncontended (the common case, the queue above serialises this process): one synchronous try, a
    // few microseconds on the root's local disk. Held by another process: wait with retries, async.
    try {
      const release = this.lockfile.lockSync(target, options)
      return async () => release()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw wrap(`taking the lock of volume "${name}"`, err)
    }
    try {
      return await this.lockfile.lock(target, {...options, retries: RETRIES})
    } catch (err) {
      throw busy(`volume "${name}" is locked by another process and the lock did not free up; try again`, {
        name,
        cause: (err as Error).message,
      })
    }
  }
}

/**
 * proper-lockfile takes a lock with mkdir and drops it with rmdir. This lock is taken on every mount
 * and unmount, and on ext4 a mkdir+rmdir pair allocates and frees a directory block: ~0.35 ms here,
 * against ~0.02 ms to create a file with O_CREAT|O_EXCL and unlink it (the same atomicity: exactly
 * one creator wins). So proper-lockfile keeps its protocol (retries, staleness, refresh, compromise
 * detection) and gets a file where it asks for a directory. A directory lock left by an older build
 * is removed the same way when stale.
 */
const lockFileFs = {
  ...fs,
  mkdir(path: fs.PathLike, modeOrCallback: unknown, maybeCallback?: (err: NodeJS.ErrnoException | null) => void): void {
    const callback = (typeof modeOrCallback === 'function' ? modeOrCallback : maybeCallback) as (err: NodeJS.ErrnoException | null) => void
    fs.open(path, 'wx', 0o600, (err, fd) => (err ? callback(err) : fs.close(fd, callback)))
  },
  mkdirSync(path: fs.PathLike): void {
    fs.closeSync(fs.openSync(path, 'wx', 0o600))
  },
  rmdir(path: fs.PathLike, callback: (err: NodeJS.ErrnoException | null) => void): void {
    fs.unlink(path, (err) => {
      if (err && (err.code === 'EISDIR' || err.code === 'EPERM')) fs.rmdir(path, callback)
      else callback(err)
    })
  },
  /** Used by proper-lockfile's exit handler to drop the locks a dying process holds. */
  rmdirSync(path: fs.PathLike): void {
    try {
      fs.unlinkSync(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EISDIR' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err
      fs.rmdirSync(path)
    }
  },
}
