import fs from 'node:fs/promises'
import path from 'node:path'

import {type Change, computeChanges, isWhiteout, type OverlayAttrReader} from '../diff/changes.js'
import {unsupported} from '../errors.js'

/** What an OCI layer of a volume's changes holds, before it is written. */
export interface LayerPlan {
  /**
   * Paths to archive from the merged view, `./`-relative, sorted (parents first): every added or
   * changed entry, and the directories that hold a change (so an applier gets their metadata right
   * instead of making them up). The root itself is not part of the change.
   */
  entries: string[]
  /** Paths (`/a/b`) that the layer deletes: written as `a/.wh.b`. Only what the base really has. */
  whiteouts: string[]
  /** Directories (`/d`) whose base content the layer hides: written as `d/.wh..wh..opq`. */
  opaques: string[]
  /** The same change, in the `dot diff` form. */
  changes: Change[]
}

/**
 * The layer that turns `base` into the merged view of `layers` (upper directories, newest first) on
 * top of it, computed from the layers and the base without mounting anything.
 *
 * Directories renamed with redirect_dir and opaque directories become a directory entry with an opaque
 * marker plus everything the view shows below it (its content comes partly from the base, which the
 * layer cannot refer to by another path); their own whiteouts are then implied. Whiteouts of paths the
 * base does not have (overlayfs leaves some) are dropped: they delete nothing.
 */
export async function planLayer(layers: string[], base: string, xattrs: OverlayAttrReader): Promise<LayerPlan> {
  if (layers.length !== 1) throw unsupported(`a layer of ${layers.length} stacked upper layers is not supported yet; give exactly one`)
  const [upper] = layers
  const {changes, parents} = await computeChanges(upper, base, xattrs)
  const entries = [...parents, ...changes.filter((c) => c.kind !== 'D').map((c) => c.path)].sort(byteOrder).map((p) => `.${p}`)
  const marks = {whiteouts: [] as string[], opaques: [] as string[]}
  if (await isDir(upper)) await findMarks('', upper, base, xattrs, marks)
  return {entries, whiteouts: marks.whiteouts.sort(byteOrder), opaques: marks.opaques.sort(byteOrder), changes}
}

async function findMarks(rel: string, upperDir: string, baseDir: string | null, xattrs: OverlayAttrReader, marks: {whiteouts: string[]; opaques: string[]}): Promise<void> {
  for (const name of await fs.readdir(upperDir)) {
    const full = path.join(upperDir, name)
    const stat = await fs.lstat(full, {bigint: true})
    const childRel = `${rel}/${name}`
    const baseChild = baseDir ? await fs.lstat(path.join(baseDir, name)).catch(() => null) : null
    if (isWhiteout(stat)) {
      if (baseChild) marks.whiteouts.push(childRel)
      continue
    }
    if (!stat.isDirectory()) continue
    if (xattrs.isOpaque(full) || xattrs.redirect(full) !== undefined) {
      if (baseChild?.isDirectory()) marks.opaques.push(childRel)
      continue
    }
    await findMarks(childRel, full, baseChild?.isDirectory() ? path.join(baseDir!, name) : null, xattrs, marks)
  }
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

async function isDir(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    (s) => s.isDirectory(),
    () => false,
  )
}
