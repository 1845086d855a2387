import {libc} from '../kernel/libc.js'

type SetFn = (path: string, name: string, value: Buffer, size: number, flags: number) => number
type GetFn = (path: string, name: string, value: Buffer, size: number) => number

/**
 * Sets and reads back a `trusted.*` xattr on `dir`, as overlayfs does in an upper layer (whiteouts,
 * opaque directories, redirects). Undefined when it works, else why not (errno name).
 */
export function probeTrustedXattr(dir: string): string | undefined {
  const c = libc()
  const lsetxattr = c.lib.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)') as unknown as SetFn
  const lgetxattr = c.lib.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)') as unknown as GetFn
  const name = 'trusted.docker-on-top.doctor'
  if (lsetxattr(dir, name, Buffer.from('y'), 1, 0) !== 0) return `setting ${name}: ${c.errnoName(c.koffi.errno())}`
  const buffer = Buffer.alloc(16)
  const n = lgetxattr(dir, name, buffer, buffer.length)
  if (n !== 1 || buffer[0] !== 0x79) return `reading ${name} back: ${n < 0 ? c.errnoName(c.koffi.errno()) : `got ${n} bytes`}`
  return undefined
}
