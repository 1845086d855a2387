import {type Libc, libc} from './libc.js'

/** A file named by its path (never followed if a symlink: the l*xattr calls) or by an open descriptor. */
export type XattrTarget = string | number

type Fn = (...args: unknown[]) => number
interface Calls {
  list: Fn
  get: Fn
  set: Fn
  remove: Fn
}

let loaded: {c: Libc; byPath: Calls; byFd: Calls} | undefined

function calls(target: XattrTarget): Calls & {c: Libc} {
  if (!loaded) {
    const c = libc()
    const f = (proto: string) => c.lib.func(proto) as unknown as Fn
    loaded = {
      c,
      byPath: {
        list: f('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)'),
        get: f('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
        set: f('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
        remove: f('int lremovexattr(const char *path, const char *name)'),
      },
      byFd: {
        list: f('long flistxattr(int fd, _Out_ uint8_t *list, size_t size)'),
        get: f('long fgetxattr(int fd, const char *name, _Out_ uint8_t *value, size_t size)'),
        set: f('int fsetxattr(int fd, const char *name, const uint8_t *value, size_t size, int flags)'),
        remove: f('int fremovexattr(int fd, const char *name)'),
      },
    }
  }
  return {c: loaded.c, ...(typeof target === 'number' ? loaded.byFd : loaded.byPath)}
}

function errnoOf(c: Libc): string {
  return c.errnoName(c.koffi.errno())
}

function fail(c: Libc, call: string, target: XattrTarget, name?: string): never {
  const code = errnoOf(c)
  const what = typeof target === 'number' ? `fd ${target}` : target
  throw Object.assign(new Error(`${call} ${what}${name ? ` ${name}` : ''}: ${code}`), {code})
}

/** errno names meaning "this filesystem keeps no such attributes". */
const UNSUPPORTED = new Set(['ENOTSUP', 'EOPNOTSUPP'])

/**
 * Every extended attribute of `target`, name -> value, through the C library (Node has no xattr API).
 * A filesystem without xattrs has none.
 */
export function readXattrs(target: XattrTarget): Map<string, Buffer> {
  const {c, list, get} = calls(target)
  const out = new Map<string, Buffer>()
  const size = list(target, null, 0)
  if (size < 0) {
    if (UNSUPPORTED.has(errnoOf(c))) return out
    fail(c, 'listxattr', target)
  }
  if (size === 0) return out
  const names = Buffer.alloc(size)
  const n = list(target, names, size)
  if (n < 0) fail(c, 'listxattr', target)
  for (const name of names.subarray(0, n).toString('latin1').split('\0').filter(Boolean)) {
    const length = get(target, name, null, 0)
    if (length < 0) {
      if (errnoOf(c) === 'ENODATA') continue // removed meanwhile
      fail(c, 'getxattr', target, name)
    }
    const value = Buffer.alloc(length)
    const got = length === 0 ? 0 : get(target, name, value, length)
    if (got < 0) fail(c, 'getxattr', target, name)
    out.set(name, value.subarray(0, got))
  }
  return out
}

export function setXattr(target: XattrTarget, name: string, value: Buffer): void {
  const {c, set} = calls(target)
  if (set(target, name, value, value.length, 0) !== 0) fail(c, 'setxattr', target, name)
}

/** Removes one attribute; one that is not there is not an error. */
export function removeXattr(target: XattrTarget, name: string): void {
  const {c, remove} = calls(target)
  if (remove(target, name) !== 0 && errnoOf(c) !== 'ENODATA') fail(c, 'removexattr', target, name)
}

/**
 * One attribute's value, or undefined when `target` has none of that name (or its filesystem keeps
 * none): one getxattr(2) when the value fits `expectedBytes`, where readXattrs makes two per attribute.
 */
export function getXattr(target: XattrTarget, name: string, expectedBytes = 256): Buffer | undefined {
  const {c, get} = calls(target)
  const value = Buffer.alloc(expectedBytes)
  const got = get(target, name, value, expectedBytes)
  if (got >= 0) return value.subarray(0, got)
  const code = errnoOf(c)
  if (code === 'ENODATA' || UNSUPPORTED.has(code)) return undefined
  if (code === 'ERANGE') return readXattrs(target).get(name) // larger than expected (written by someone else)
  fail(c, 'getxattr', target, name)
}
