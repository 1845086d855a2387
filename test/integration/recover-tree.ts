import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

/**
 * Tree comparison for the recover/diff tests: what `cp -a` of a mounted view, `dot recover --to` and a
 * `--tar` extracted by GNU tar must agree on. Each entry: type, mode (with setuid/setgid/sticky),
 * owner, mtime to the nanosecond, size, content hash, symlink target, device number, user xattrs, and
 * which other paths share its inode (hard links, compared as groups of paths, not inode numbers).
 */
export interface TreeEntry {
  type: string
  mode: string
  owner: string
  mtimeNs: string
  size: string
  content: string
  xattrs: string
  links: string
}

export type Tree = Map<string, TreeEntry>

export async function readTree(dir: string, options: {only?: (rel: string) => boolean} = {}): Promise<Tree> {
  await loadUserXattrs(dir)
  const tree: Tree = new Map()
  const inodes = new Map<string, string[]>()
  const walk = (rel: string) => {
    const full = rel === '' ? dir : path.join(dir, rel)
    const st = fs.lstatSync(full, {bigint: true})
    const key = rel === '' ? '/' : `/${rel}`
    if (options.only === undefined || options.only(key)) {
      tree.set(key, {
        type: typeOf(st),
        mode: (st.mode & 0o7777n).toString(8),
        owner: `${st.uid}:${st.gid}`,
        mtimeNs: st.mtimeNs.toString(),
        size: st.isDirectory() ? '-' : st.size.toString(),
        content: st.isFile() ? hashFile(full) : st.isSymbolicLink() ? fs.readlinkSync(full) : st.isCharacterDevice() || st.isBlockDevice() ? `rdev=${st.rdev}` : '',
        xattrs: st.isSymbolicLink() ? '' : userXattrs(full),
        links: '',
      })
      if (!st.isDirectory() && st.nlink > 1n) {
        const ino = `${st.dev}:${st.ino}`
        inodes.set(ino, [...(inodes.get(ino) ?? []), key])
      }
    }
    if (st.isDirectory()) for (const name of fs.readdirSync(full)) walk(rel === '' ? name : path.join(rel, name))
  }
  walk('')
  for (const group of inodes.values()) {
    const sorted = group.sort()
    for (const p of sorted) tree.get(p)!.links = sorted.join(' ')
  }
  return tree
}

/** The differences between two trees, one line each; empty when they are equal. */
export function compareTrees(expected: Tree, actual: Tree, options: {ignoreRootMtime?: boolean} = {}): string[] {
  const problems: string[] = []
  for (const [p, want] of expected) {
    const got = actual.get(p)
    if (!got) {
      problems.push(`missing ${p}`)
      continue
    }
    for (const field of Object.keys(want) as (keyof TreeEntry)[]) {
      if (field === 'mtimeNs' && p === '/' && options.ignoreRootMtime) continue
      if (want[field] !== got[field]) problems.push(`${p}: ${field} ${JSON.stringify(got[field])}, expected ${JSON.stringify(want[field])}`)
    }
  }
  for (const p of actual.keys()) if (!expected.has(p)) problems.push(`unexpected ${p}`)
  return problems
}

function typeOf(st: fs.BigIntStats): string {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  return 'socket'
}

const CHUNK = 4 << 20
const ZEROS = Buffer.alloc(CHUNK)

/**
 * A content hash that skips hashing runs of zeros (a 1 GiB sparse file is hashed in a fraction of the
 * time): each chunk is hashed as a tag, its length and, unless it is all zeros, its bytes. Unambiguous,
 * so equal hashes mean equal content.
 */
function hashFile(file: string): string {
  const hash = createHash('sha1')
  const fd = fs.openSync(file, 'r')
  const buffer = Buffer.alloc(CHUNK)
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null)
      if (n === 0) break
      const chunk = buffer.subarray(0, n)
      const zero = chunk.equals(ZEROS.subarray(0, n))
      hash.update(`${zero ? 'z' : 'd'}${n};`)
      if (!zero) hash.update(chunk)
    }
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest('hex')
}

/** user.* xattrs as "name=value;..." (getfattr: tar and cp must carry them). */
function userXattrs(file: string): string {
  return xattrCache.get(file) ?? ''
}

/** Filled by `loadUserXattrs` (one getfattr run per tree instead of one per file). */
const xattrCache = new Map<string, string>()

async function loadUserXattrs(dir: string): Promise<void> {
  const {execa} = await import('execa')
  const {stdout} = await execa('getfattr', ['-R', '-P', '--absolute-names', '-d', '-m', '^user\\.', '-e', 'hex', dir], {reject: false})
  let current = ''
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = line.slice('# file: '.length)
    else if (line.includes('=') && current) xattrCache.set(current, [xattrCache.get(current), line].filter(Boolean).join(';'))
  }
}

/** Cheap fingerprint of a layer (names, types, sizes, inode change times): equal means nothing touched it. */
export function statSnapshot(dir: string): string[] {
  const lines: string[] = []
  const walk = (rel: string) => {
    const full = path.join(dir, rel)
    const st = fs.lstatSync(full, {bigint: true})
    lines.push(`${rel} ${st.mode.toString(8)} ${st.rdev} ${st.size} ${st.ctimeNs} ${st.mtimeNs}`)
    if (st.isDirectory()) for (const name of fs.readdirSync(full).sort()) walk(path.join(rel, name))
  }
  walk('')
  return lines
}
