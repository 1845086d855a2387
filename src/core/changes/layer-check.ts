import path from 'node:path'

import {invalid} from '../errors.js'
import {OPAQUE_MARKER, WHITEOUT_PREFIX} from './layer-format.js'

/** What a layer may hold beyond files, directories, symlinks, hard links and fifos. */
export interface LayerPolicy {
  /** Character and block devices (a container image may carry /dev nodes; a volume rarely should). */
  allowDevices?: boolean
  /** Symlinks whose target is absolute or climbs above the volume's root. */
  allowLinksOut?: boolean
}

/** The header fields the check reads (tar-stream's names). */
export interface LayerHeader {
  name: string
  type?: string | null
  linkname?: string | null
  pax?: Record<string, string> | null
  mtime?: Date | null
}

const PLAIN_TYPES = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link', 'fifo'])
const DEVICE_TYPES = new Set(['character-device', 'block-device'])

/**
 * Checks a layer entry by entry, as it streams, before anything of it reaches a volume: paths stay
 * inside the volume (no absolute path, no `..`, nothing below a symlink of the layer), hard links name
 * an earlier entry of the layer, symlinks stay inside unless allowed, no device node unless allowed,
 * no overlayfs xattr (it would make the upper layer merge with some other base directory).
 */
export class LayerChecker {
  private readonly files = new Set<string>()
  private readonly symlinks = new Set<string>()
  entries = 0
  hasRoot = false
  /** The archived mtime (ns) of each directory entry, by path ('' for the root). */
  readonly dirMtimes = new Map<string, bigint>()

  constructor(private readonly policy: LayerPolicy) {}

  check(header: LayerHeader): void {
    const type = header.type ?? 'file'
    const name = this.relative(header.pax?.['GNU.sparse.name'] ?? header.name, 'path')
    this.entries++
    if (type === 'directory') this.dirMtimes.set(name, archivedMtimeNs(header))
    if (name === '') {
      if (type !== 'directory') throw invalid(`layer entry "${header.name}" is the root but not a directory`)
      this.hasRoot = true
      return
    }
    for (let dir = path.posix.dirname(name); dir !== '.'; dir = path.posix.dirname(dir)) {
      if (this.symlinks.has(dir)) throw invalid(`layer entry "${header.name}" lies below "${dir}", a symlink of the layer: refusing to write through it`)
    }
    const base = path.posix.basename(name)
    if (base.startsWith(WHITEOUT_PREFIX) && (type !== 'file' || (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX) && base !== OPAQUE_MARKER))) {
      throw invalid(`layer entry "${header.name}" is not a valid whiteout (allowed: an empty file ".wh.NAME" or "${OPAQUE_MARKER}")`)
    }
    for (const key of Object.keys(header.pax ?? {})) {
      if (key.startsWith('SCHILY.xattr.trusted.overlay.')) throw invalid(`layer entry "${header.name}" carries overlayfs's own xattr ${key.slice('SCHILY.xattr.'.length)}: refused`)
    }
    if (DEVICE_TYPES.has(type)) {
      if (!this.policy.allowDevices) throw invalid(`layer entry "${header.name}" is a device node; refused unless --allow-devices`)
    } else if (type === 'link') {
      const target = this.relative(header.linkname ?? '', 'hard link target')
      if (!this.files.has(target)) throw invalid(`layer entry "${header.name}" is a hard link to "${header.linkname}", which is not an earlier file of the layer`)
    } else if (type === 'symlink') {
      this.checkSymlink(header.name, name, header.linkname ?? '')
      this.symlinks.add(name)
    } else if (!PLAIN_TYPES.has(type) && type !== 'gnu-sparse') {
      throw invalid(`layer entry "${header.name}" has an unsupported type (${type}); allowed: files, directories, symlinks, hard links, fifos, devices`)
    }
    if (type !== 'directory' && type !== 'symlink') this.files.add(name)
  }

  /** A member name as a path inside the volume ('' for the root); refused when it could leave it. */
  private relative(raw: string, what: string): string {
    if (raw.startsWith('/')) throw invalid(`layer ${what} "${raw}" is absolute; a layer holds paths relative to the volume's root`)
    const parts = raw.split('/').filter((p) => p !== '' && p !== '.')
    if (parts.includes('..')) throw invalid(`layer ${what} "${raw}" contains "..": refused`)
    return parts.join('/')
  }

  private checkSymlink(raw: string, name: string, target: string): void {
    if (this.policy.allowLinksOut) return
    if (target.startsWith('/')) throw invalid(`layer entry "${raw}" is a symlink to the absolute path "${target}", outside the volume; refused unless --allow-links-out`)
    let depth = name.split('/').length - 1
    for (const part of target.split('/')) {
      if (part === '..') depth--
      else if (part !== '' && part !== '.') depth++
      if (depth < 0) throw invalid(`layer entry "${raw}" is a symlink to "${target}", which points out of the volume; refused unless --allow-links-out`)
    }
  }
}

/** A PAX `mtime` ("1764628368.789606135") to the nanosecond, else the header's (whole seconds). */
function archivedMtimeNs(header: LayerHeader): bigint {
  const pax = header.pax?.mtime
  const match = pax ? /^(-?\d+)(?:\.(\d{1,9}))?/.exec(pax) : null
  if (match) return BigInt(match[1]) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'))
  return BigInt(header.mtime?.getTime() ?? 0) * 1_000_000n
}
