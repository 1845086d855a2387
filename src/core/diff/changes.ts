import type {BigIntStats} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode} from '../errors.js'

/** `docker diff`'s letters: Added, Changed, Deleted. */
export type ChangeKind = 'A' | 'C' | 'D'

export interface Change {
  /** The path inside the volume, from its root: `/dir/file`. */
  path: string
  kind: ChangeKind
}

export interface Changes {
  /** Every change, sorted by path (byte order: a directory comes right before what it holds). */
  changes: Change[]
  /**
   * Directories of the upper layer that are not changes themselves but hold changes (copied up only
   * to hold a changed child, metadata identical to the base's). A changes-only copy needs them so that
   * the changes keep their place and their parents keep their modes and owners.
   */
  parents: string[]
  /**
   * Directories renamed under redirect_dir=on: the view shows at `to` what the base holds at `from`
   * (so `changes` lists `from` and what it held as D, and `to` and the same entries as A).
   */
  renames: {from: string; to: string}[]
}

/** The overlayfs xattrs the diff needs, read from an upper layer's directories. */
export interface OverlayAttrReader {
  isOpaque(path: string): boolean
  redirect(path: string): string | undefined
}

/**
 * What a volume's upper layer changes in its base, computed the way overlayfs merges them
 * (Documentation/filesystems/overlayfs.rst), without mounting anything:
 *
 * - a whiteout (a character device 0:0) hides the base entry: `D`, and everything below it in the base;
 * - an opaque directory (`trusted.overlay.opaque=y`) hides the base directory's content: the directory
 *   is `C` (or `A`), each base entry beneath that the upper does not provide again is `D`;
 * - a redirected directory (`trusted.overlay.redirect`, a rename under redirect_dir=on) merges with the
 *   base directory it names, so what it shows from there appears at a new path: `A` (or `C`);
 * - any other non-directory in the upper is `C` when the base has the path (content or metadata changed:
 *   a copy-up happens only for a write or a metadata change) and `A` otherwise;
 * - a directory in the upper that the base also has is `C` only when its own metadata (mode, owner, mtime)
 *   differs: copy-up creates parents merely to hold a changed child, as `docker diff` also assumes.
 */
export async function computeChanges(upper: string, base: string, xattrs: OverlayAttrReader): Promise<Changes> {
  const walker = new ChangeWalker(base, xattrs)
  const upperRoot = (await lstatOrNull(upper))?.isDirectory() ? upper : null
  await walker.walk('', upperRoot, base, base)
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  return {
    changes: walker.changes.sort((a, b) => order(a.path, b.path)),
    parents: walker.parents.sort(order),
    renames: walker.renames.sort((a, b) => order(a.to, b.to)),
  }
}

export function isWhiteout(stat: BigIntStats): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0n
}

class ChangeWalker {
  readonly changes: Change[] = []
  readonly parents: string[] = []
  readonly renames: {from: string; to: string}[] = []

  constructor(
    private readonly base: string,
    private readonly xattrs: OverlayAttrReader,
  ) {}

  /**
   * One directory of the merged view at `rel`: `upperDir` is its upper part (null when it shows a lower
   * directory only), `lowerDir` the base directory merged below it (null when opaque or new), `baseDir`
   * the base directory at the same path, what the view is compared with (null when the base has none).
   */
  async walk(rel: string, upperDir: string | null, lowerDir: string | null, baseDir: string | null): Promise<void> {
    const upperNames = upperDir ? await readdirOrEmpty(upperDir) : []
    const lowerNames = lowerDir ? await readdirOrEmpty(lowerDir) : []
    const baseNames = baseDir === lowerDir ? lowerNames : baseDir ? await readdirOrEmpty(baseDir) : []
    const inUpper = new Set(upperNames)
    const visible = new Set<string>()

    for (const name of upperNames) {
      const stat = await lstatOrNull(path.join(upperDir!, name))
      if (!stat || isWhiteout(stat)) continue
      visible.add(name)
      const childRel = `${rel}/${name}`
      const baseChild = baseDir ? await lstatOrNull(path.join(baseDir, name)) : null
      const baseChildDir = baseChild?.isDirectory() ? path.join(baseDir!, name) : null
      if (!stat.isDirectory()) {
        this.changes.push({path: childRel, kind: baseChild ? 'C' : 'A'})
        if (baseChildDir) await this.deleteBelow(childRel, baseChildDir)
        continue
      }
      const upperChild = path.join(upperDir!, name)
      const opaque = this.xattrs.isOpaque(upperChild)
      const redirect = opaque ? undefined : this.xattrs.redirect(upperChild)
      const childLower = opaque ? null : await this.lowerOf(name, lowerDir, redirect)
      if (redirect !== undefined && childLower) this.renames.push({from: `/${path.relative(this.base, childLower)}`, to: childRel})
      let kind: ChangeKind | undefined
      if (!baseChild) kind = 'A'
      else if (!baseChild.isDirectory() || opaque || redirect !== undefined || metadataDiffers(stat, baseChild)) kind = 'C'
      if (kind) this.changes.push({path: childRel, kind})
      else this.parents.push(childRel)
      await this.walk(childRel, upperChild, childLower, baseChildDir)
    }

    // Entries the view shows from the lower directory. When that is the base directory at the same
    // path they are unchanged; below a redirected directory they come from elsewhere in the base.
    for (const name of lowerNames) {
      if (inUpper.has(name)) continue
      visible.add(name)
      if (lowerDir === baseDir) continue
      const childRel = `${rel}/${name}`
      const lowerChild = await lstatOrNull(path.join(lowerDir!, name))
      const baseChild = baseDir ? await lstatOrNull(path.join(baseDir, name)) : null
      const baseChildDir = baseChild?.isDirectory() ? path.join(baseDir!, name) : null
      this.changes.push({path: childRel, kind: baseChild ? 'C' : 'A'})
      if (lowerChild?.isDirectory()) await this.walk(childRel, null, path.join(lowerDir!, name), baseChildDir)
      else if (baseChildDir) await this.deleteBelow(childRel, baseChildDir)
    }

    for (const name of baseNames) {
      if (visible.has(name)) continue
      const childRel = `${rel}/${name}`
      this.changes.push({path: childRel, kind: 'D'})
      const baseChild = await lstatOrNull(path.join(baseDir!, name))
      if (baseChild?.isDirectory()) await this.deleteBelow(childRel, path.join(baseDir!, name))
    }
  }

  /** The lower directory merged below an upper directory `name` whose parent merges `parentLower`. */
  private async lowerOf(name: string, parentLower: string | null, redirect: string | undefined): Promise<string | null> {
    let candidate: string | null
    if (redirect === undefined) candidate = parentLower ? path.join(parentLower, name) : null
    else if (redirect.startsWith('/')) candidate = path.join(this.base, redirect)
    else candidate = parentLower ? path.join(parentLower, redirect) : null
    if (candidate === null) return null
    return (await lstatOrNull(candidate))?.isDirectory() ? candidate : null
  }

  /** Everything below a base directory that the view no longer shows. */
  private async deleteBelow(rel: string, baseDir: string): Promise<void> {
    for (const name of await readdirOrEmpty(baseDir)) {
      const childRel = `${rel}/${name}`
      this.changes.push({path: childRel, kind: 'D'})
      const stat = await lstatOrNull(path.join(baseDir, name))
      if (stat?.isDirectory()) await this.deleteBelow(childRel, path.join(baseDir, name))
    }
  }
}

function metadataDiffers(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.mtimeNs !== b.mtimeNs
}

async function lstatOrNull(p: string): Promise<BigIntStats | null> {
  try {
    return await fs.lstat(p, {bigint: true})
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null
    throw err
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return []
    throw err
  }
}
