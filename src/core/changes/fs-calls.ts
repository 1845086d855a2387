import fs from 'node:fs'

import {type Libc, libc} from '../kernel/libc.js'

/**
 * The few system calls the change operations need that Node does not offer, through koffi: mknod for
 * overlayfs whiteouts, the l*xattr family for opaque marks and for copying a directory's xattrs,
 * utimensat for nanosecond times (fs.utimes goes through a double and loses the last digits), and
 * renameat2(RENAME_EXCHANGE) for swapping an upper layer atomically.
 */
interface Calls {
  c: Libc
  mknod: (path: string, mode: number, dev: bigint) => number
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number
  lremovexattr: (path: string, name: string) => number
  llistxattr: (path: string, list: Buffer | null, size: number) => number
  lgetxattr: (path: string, name: string, value: Buffer | null, size: number) => number
  utimensat: (dirfd: number, path: string, times: {tv_sec: bigint; tv_nsec: bigint}[], flags: number) => number
  renameat2: (olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number) => number
  syncfs: (fd: number) => number
}

let loaded: Calls | undefined

function calls(): Calls {
  if (loaded) return loaded
  const c = libc()
  const {lib, koffi} = c
  koffi.struct('dot_timespec', {tv_sec: 'int64', tv_nsec: 'int64'})
  loaded = {
    c,
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)') as unknown as Calls['mknod'],
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)') as unknown as Calls['lsetxattr'],
    lremovexattr: lib.func('int lremovexattr(const char *path, const char *name)') as unknown as Calls['lremovexattr'],
    llistxattr: lib.func('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)') as unknown as Calls['llistxattr'],
    lgetxattr: lib.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)') as unknown as Calls['lgetxattr'],
    utimensat: lib.func('int utimensat(int dirfd, const char *path, const dot_timespec *times, int flags)') as unknown as Calls['utimensat'],
    renameat2: lib.func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)') as unknown as Calls['renameat2'],
    syncfs: lib.func('int syncfs(int fd)') as unknown as Calls['syncfs'],
  }
  return loaded
}

const AT_FDCWD = -100
const AT_SYMLINK_NOFOLLOW = 0x100
const RENAME_EXCHANGE = 2
/** overlayfs's private xattrs: never copied between layers or into a base, never exported. */
export const OVERLAY_XATTR_PREFIX = 'trusted.overlay.'

function check(result: number, what: string, path: string): void {
  if (result >= 0) return
  const {c} = calls()
  const code = c.errnoName(c.koffi.errno())
  throw Object.assign(new Error(`${what} ${path}: ${code}`), {code})
}

/** An overlayfs whiteout: a character device 0:0 (what overlayfs itself writes for a deletion). */
export function makeWhiteout(path: string): void {
  check(calls().mknod(path, fs.constants.S_IFCHR, 0n), 'mknod', path)
}

/** Marks an upper-layer directory opaque: it hides whatever the lower layers hold at its path. */
export function setOpaque(path: string): void {
  const value = Buffer.from('y')
  check(calls().lsetxattr(path, `${OVERLAY_XATTR_PREFIX}opaque`, value, value.length, 0), 'lsetxattr', path)
}

/** Removes an xattr; absent is fine. */
export function removeXattr(path: string, name: string): void {
  const {lremovexattr, c} = calls()
  if (lremovexattr(path, name) === 0) return
  const code = c.errnoName(c.koffi.errno())
  if (code === 'ENODATA') return
  throw Object.assign(new Error(`lremovexattr ${path} ${name}: ${code}`), {code})
}

/** Every xattr of an entry (not following symlinks) as name -> raw value. */
export function readXattrs(path: string): Map<string, Buffer> {
  const {llistxattr, lgetxattr} = calls()
  const out = new Map<string, Buffer>()
  const size = llistxattr(path, null, 0)
  if (size <= 0) return out
  const list = Buffer.alloc(size)
  check(llistxattr(path, list, size), 'llistxattr', path)
  for (const name of list.toString('utf8').split('\0').filter(Boolean)) {
    const n = lgetxattr(path, name, null, 0)
    if (n < 0) continue
    const value = Buffer.alloc(n)
    const got = lgetxattr(path, name, value, n)
    if (got >= 0) out.set(name, value.subarray(0, got))
  }
  return out
}

/** Sets atime and mtime to the nanosecond, on the entry itself (a symlink is not followed). */
export function setTimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  const ts = (ns: bigint) => ({tv_sec: ns / 1_000_000_000n, tv_nsec: ns % 1_000_000_000n})
  check(calls().utimensat(AT_FDCWD, path, [ts(atimeNs), ts(mtimeNs)], AT_SYMLINK_NOFOLLOW), 'utimensat', path)
}

/**
 * Gives directory `to` the mode, owner, xattrs (overlayfs's own excepted) and times of `from`. Times
 * last: setting the others changes nothing the caller compares, but writing inside `to` afterwards
 * would change its mtime, so callers set a directory's metadata after filling it.
 */
export function copyDirMetadata(from: string, to: string): void {
  const st = fs.lstatSync(from, {bigint: true})
  fs.lchownSync(to, Number(st.uid), Number(st.gid))
  fs.chmodSync(to, Number(st.mode & 0o7777n))
  const want = readXattrs(from)
  const have = readXattrs(to)
  const {lsetxattr} = calls()
  for (const name of have.keys()) {
    if (!name.startsWith(OVERLAY_XATTR_PREFIX) && !want.has(name)) removeXattr(to, name)
  }
  for (const [name, value] of want) {
    if (name.startsWith(OVERLAY_XATTR_PREFIX)) continue
    check(lsetxattr(to, name, value, value.length, 0), 'lsetxattr', to)
  }
  setTimes(to, st.atimeNs, st.mtimeNs)
}

/** Swaps two paths atomically (renameat2 RENAME_EXCHANGE): both must exist. */
export function exchange(a: string, b: string): void {
  check(calls().renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE), 'renameat2', `${a} <-> ${b}`)
}

/**
 * Makes everything written on the file system holding `path` durable (syncfs(2)): one call instead of
 * an fsync per file of a layer of 10,000 files.
 */
export function syncFileSystem(path: string): void {
  const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY)
  try {
    check(calls().syncfs(fd), 'syncfs', path)
  } finally {
    fs.closeSync(fd)
  }
}

/** lstat that answers undefined for a path that does not exist or runs through a non-directory. */
export function lstatIfAny(p: string): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(p, {bigint: true, throwIfNoEntry: false})
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined
    throw err
  }
}
