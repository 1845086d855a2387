import {type Libc, libc} from './libc.js'

type LgetxattrFn = (path: string, name: string, value: Buffer | null, size: number) => number

/**
 * Reads overlayfs's private xattrs (`trusted.overlay.*`) of entries in an upper layer, with lgetxattr(2)
 * called in process through koffi: diff asks once per directory, and spawning getfattr(1) for each of
 * every directory would dominate the diff. Reading `trusted.*` needs CAP_SYS_ADMIN, as overlayfs itself.
 */
export class OverlayXattrs {
  private readonly libc: Libc
  private readonly lgetxattr: LgetxattrFn
  private readonly buffer = Buffer.alloc(4096)

  constructor() {
    this.libc = libc()
    this.lgetxattr = this.libc.lib.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)') as unknown as LgetxattrFn
  }

  /** `trusted.overlay.opaque=y`: the directory hides whatever the lower layers hold at its path. */
  isOpaque(path: string): boolean {
    return this.get(path, 'trusted.overlay.opaque') === 'y'
  }

  /**
   * `trusted.overlay.redirect`: a directory renamed with redirect_dir=on; the value is where its lower
   * part lives (absolute from the layer root, or a name in the parent's lower directory).
   */
  redirect(path: string): string | undefined {
    return this.get(path, 'trusted.overlay.redirect')
  }

  /** The value as text, or undefined when the entry lacks the xattr (ENODATA) or the fs has none. */
  get(path: string, name: string): string | undefined {
    const n = this.lgetxattr(path, name, this.buffer, this.buffer.length)
    if (n >= 0) return this.buffer.subarray(0, n).toString('utf8')
    const errno = this.libc.koffi.errno()
    const {ENODATA, ENOTSUP, EOPNOTSUPP} = this.libc.koffi.os.errno as Record<string, number>
    if (errno === ENODATA || errno === ENOTSUP || errno === EOPNOTSUPP) return undefined
    const name_ = this.libc.errnoName(errno)
    throw Object.assign(new Error(`lgetxattr ${path} ${name}: ${name_}`), {code: name_})
  }
}
