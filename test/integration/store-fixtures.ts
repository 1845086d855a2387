import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'

/** Shared by the store-*.test.ts integration suites: facts read from the kernel and the disk, never from the store. */

/** How many overlays are mounted on `mountpoint`, from /proc/self/mountinfo (2 means one is stacked on another). */
export function overlayCount(mountpoint: string): number {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.fstype === 'overlay' && e.mountpoint === mountpoint).length
}

/**
 * A fingerprint of a whole tree: every entry's type, mode, owner, size, content hash, symlink target
 * and device number. Equal fingerprints before and after mean the tree is byte for byte the same.
 */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    const full = path.join(dir, rel)
    const st = fs.lstatSync(full)
    let detail = ''
    if (st.isFile()) detail = createHash('sha256').update(fs.readFileSync(full)).digest('hex')
    else if (st.isSymbolicLink()) detail = fs.readlinkSync(full)
    else if (st.isCharacterDevice() || st.isBlockDevice()) detail = `rdev=${st.rdev}`
    out[rel || '.'] = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '-' : st.size} ${detail} mtime=${st.mtimeMs}`
    if (st.isDirectory()) for (const name of fs.readdirSync(full).sort()) walk(path.join(rel, name))
  }
  walk('')
  return out
}

/** Whether `file` is an overlayfs whiteout: a character device 0:0. */
export function isWhiteout(file: string): boolean {
  try {
    const st = fs.lstatSync(file)
    return st.isCharacterDevice() && st.rdev === 0
  } catch {
    return false
  }
}

/** The files of `activemounts/` as the Go original reads them: id -> parsed JSON. */
export function recordFiles(volumeDir: string): Record<string, unknown> {
  const dir = path.join(volumeDir, 'activemounts')
  if (!fs.existsSync(dir)) return {}
  const out: Record<string, unknown> = {}
  for (const id of fs.readdirSync(dir).sort()) out[id] = JSON.parse(fs.readFileSync(path.join(dir, id), 'utf8'))
  return out
}

/**
 * The usual set-up of a root-only store suite: asserts root, opens a store on a fresh TempRoot and hands
 * both to `use`; afterwards waits for the store's cleanups and unmounts and deletes everything below it,
 * also when a test failed. Call it inside the describe().
 */
export function useStore(prefix: string, use: (tmp: TempRoot, store: VolumeStore) => void): void {
  let tmp: TempRoot | undefined
  let store: VolumeStore | undefined
  before(async () => {
    assertRoot()
    tmp = new TempRoot(prefix)
    store = await VolumeStore.open({root: tmp.root})
    use(tmp, store)
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })
}
