import fs from 'node:fs'

import {type Libc, libc} from './libc.js'

const LOCK_SH = 1
const LOCK_EX = 2
const LOCK_NB = 4
const EINTR = 4
const EWOULDBLOCK = 11

let loaded: {c: Libc; flock: (fd: number, operation: number) => number} | undefined

/**
 * One non-blocking try at an exclusive flock(2) on `fd`: true when taken, false when another open file
 * holds it. Node has no flock, so it is called through koffi (the FFI the mounter uses), loaded on first
 * use. The kernel drops the lock when its holder closes the file or dies, however it dies: no lock is
 * ever left behind by a killed process.
 */
export function tryLockExclusive(fd: number): boolean {
  return tryLock(fd, LOCK_EX)
}

/** One non-blocking try at a shared flock(2) on `fd`: many holders at once, none while it is held exclusively. */
export function tryLockShared(fd: number): boolean {
  return tryLock(fd, LOCK_SH)
}

function tryLock(fd: number, mode: number): boolean {
  if (!loaded) {
    const c = libc()
    loaded = {c, flock: c.lib.func('int flock(int fd, int operation)') as unknown as (fd: number, operation: number) => number}
  }
  for (;;) {
    if (loaded.flock(fd, mode | LOCK_NB) === 0) return true
    const errno = loaded.c.koffi.errno()
    if (errno === EWOULDBLOCK) return false
    if (errno === EINTR) continue
    throw Object.assign(new Error(`flock(2) failed: ${loaded.c.errnoName(errno)}`), {code: loaded.c.errnoName(errno)})
  }
}

/**
 * One try at the lock of directory `dir`, without waiting: its fd (close it to release), or
 * `undefined` when another process holds it. O_CLOEXEC (libuv's default): children (tar, mount(8))
 * never inherit the lock. A lock is only as old as its directory: one taken on a directory renamed
 * away meanwhile is not a lock on `dir`.
 */
export function tryLockDir(dir: string): number | undefined {
  // O_NOFOLLOW: a directory replaced by a symlink is refused (ELOOP), never locked through (disk/planted.ts).
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW)
  try {
    if (tryLockExclusive(fd) && sameFile(fd, dir)) return fd
  } catch (err) {
    fs.closeSync(fd)
    throw err
  }
  fs.closeSync(fd)
  return undefined
}

/** Whether `fd` is still the file at `file` (renamed away or replaced while we waited for it, if not). */
export function sameFile(fd: number, file: string): boolean {
  const held = fs.fstatSync(fd)
  const current = fs.lstatSync(file, {throwIfNoEntry: false})
  return current !== undefined && current.ino === held.ino && current.dev === held.dev
}
