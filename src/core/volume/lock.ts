import fs from 'node:fs'

import {busy, errnoCode, notFound, wrap} from '../errors.js'
import {KeyedQueue} from './keyed-queue.js'
import type {Layout} from '../disk/layout.js'
import {plantedError} from '../disk/planted.js'
import {sameFile, tryLockDir} from '../kernel/flock.js'

export interface LockLogger {
  warn(message: string): void
}

/** How long an operation waits for a volume held by another process before it answers "busy". */
const WAIT_MS = 30_000
/** Polling delays while another process holds the lock: short at first (operations are short), then longer. */
const FIRST_DELAY_MS = 1
const MAX_DELAY_MS = 50

/**
 * One lock per volume shared by every process: `dot serve` and any `dot mount` run by hand take an
 * exclusive flock(2) on the volume's own directory, `<root>/<name>`. Inside one process a queue per
 * volume sits in front of it. Held for a whole remove, mount or unmount; a create holds the lock of the
 * scratch directory it builds the volume in (`tryLockDir`); reads take no lock.
 *
 * Why flock on the directory, and not a lock file whose existence is the lock: the kernel drops a
 * flock when its holder dies, however it dies, so a `dot mount` killed mid-operation never blocks the
 * volume; and taking it creates no inode. A lock
 * is only as old as its directory: whoever waited on a volume that a remove renamed to trash meanwhile
 * sees that the path names another directory now (or none), and answers "no such volume".
 */
export class VolumeLocks {
  private readonly queue = new KeyedQueue()
  /** Tasks queued for each volume and not started yet. */
  private readonly waiting = new Map<string, number>()
  /** Locks handed from a finished task to the next one queued for the same volume. */
  private readonly held = new Map<string, number>()

  constructor(
    private readonly layout: Layout,
    private readonly logger: LockLogger,
  ) {}

  /** Runs `task` holding the lock of existing volume `name`; a missing volume is `not-found`. */
  withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    this.waiting.set(name, (this.waiting.get(name) ?? 0) + 1)
    return this.queue.run(name, async () => {
      const waiting = this.waiting.get(name)! - 1
      if (waiting > 0) this.waiting.set(name, waiting)
      else this.waiting.delete(name)
      // A burst (32 containers mounting one volume) takes the cross-process lock once: the next task
      // queued for the volume inherits it instead of releasing and re-taking it, unless the directory
      // it locks is no longer the volume (removed). Other processes wait for the burst.
      let fd = this.held.get(name)
      if (fd !== undefined) {
        this.held.delete(name)
        let same: boolean
        try {
          same = sameFile(fd, this.layout.volume(name))
        } catch (err) {
          this.release(name, fd) // never kept by accident: other processes would wait on it forever
          throw wrap(`taking the lock of volume "${name}"`, err)
        }
        if (!same) fd = this.release(name, fd) // removed meanwhile: acquire says "no such volume"
      }
      fd ??= await this.acquire(name)
      try {
        return await task()
      } finally {
        if (this.waiting.has(name)) this.held.set(name, fd)
        else this.release(name, fd)
      }
    })
  }

  /** Runs `task` after the tasks already queued for `name` in this process, without a lock (create's). */
  serialize<T>(name: string, task: () => T | Promise<T>): Promise<T> {
    return this.queue.run(name, task)
  }

  private release(name: string, fd: number): undefined {
    try {
      fs.closeSync(fd) // drops the flock
    } catch (err) {
      this.logger.warn(`releasing lock of volume "${name}": ${(err as Error).message}`)
    }
    return undefined
  }

  private async acquire(name: string): Promise<number> {
    const dir = this.layout.volume(name)
    const deadline = Date.now() + WAIT_MS
    let delay = FIRST_DELAY_MS
    for (;;) {
      let fd: number | undefined
      try {
        // O_CLOEXEC (libuv's default): children (tar, mount(8)) never inherit the lock.
        fd = tryLockDir(dir)
      } catch (err) {
        const code = errnoCode(err)
        if (code === 'ELOOP') throw plantedError(name, dir)
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          const store = fs.existsSync(this.layout.root) ? '' : ` (there is no store at ${this.layout.root})`
          throw notFound(`no such volume: ${name}${store}`, {name})
        }
        throw wrap(`taking the lock of volume "${name}"`, err)
      }
      if (fd !== undefined) return fd
      if (Date.now() > deadline) {
        throw busy(`volume "${name}" is locked by another process and the lock did not free up in ${WAIT_MS / 1000} s; try again`, {name})
      }
      await new Promise((resolve) => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, MAX_DELAY_MS)
    }
  }
}
