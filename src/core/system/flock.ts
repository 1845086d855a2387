import {createRequire} from 'node:module'

type Koffi = typeof import('koffi')

const LOCK_EX = 2
const LOCK_NB = 4
const EINTR = 4
const EWOULDBLOCK = 11

let flockFn: ((fd: number, operation: number) => number) | undefined
let koffi: Koffi | undefined

/**
 * One non-blocking try at an exclusive flock(2) on `fd`: true when taken, false when another open file
 * holds it. Node has no flock, so it is called through koffi (the FFI the mounter uses), loaded on first
 * use. The kernel drops the lock when its holder closes the file or dies, however it dies: no lock is
 * ever left behind by a killed process.
 */
export function tryLockExclusive(fd: number): boolean {
  if (!flockFn) {
    koffi = createRequire(import.meta.url)('koffi') as Koffi
    flockFn = koffi.load('libc.so.6').func('int flock(int fd, int operation)') as unknown as (fd: number, operation: number) => number
  }
  for (;;) {
    if (flockFn(fd, LOCK_EX | LOCK_NB) === 0) return true
    const errno = koffi!.errno()
    if (errno === EWOULDBLOCK) return false
    if (errno === EINTR) continue
    throw Object.assign(new Error(`flock failed: errno ${errno}`), {errno})
  }
}
