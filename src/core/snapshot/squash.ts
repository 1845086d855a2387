import fs from 'node:fs'
import path from 'node:path'

import {isWhiteout} from '../diff/changes.js'
import {setOpaque} from '../changes/fs-calls.js'
import {removeXattr, setXattr} from '../kernel/xattrs.js'
import {OverlayXattrs} from '../kernel/overlay-xattrs.js'
import {cloneTree, copyDirAttrs, copyTimes, linkEntry, removeEntry} from './tree-clone.js'

const REDIRECT = 'trusted.overlay.redirect'
const OPAQUE = 'trusted.overlay.opaque'

/**
 * Builds at `out` (a new path) one layer in overlayfs's upper format that shows, over any lower
 * layers, what `layers` (newest first) stacked over them show: a whiteout, an opaque directory or a
 * redirected (renamed) directory keeps hiding or pointing at what lies below, and a directory of a
 * newer layer over a file or a whiteout of an older one becomes opaque. Files are hard linked, so
 * hard links stay one inode and nothing is copied. The layers are only read.
 */
export function squashLayers(layers: string[], out: string): void {
  if (layers.length === 0) throw new Error('squashLayers: no layers')
  const xattrs = new OverlayXattrs()
  let lower = layers[layers.length - 1]
  let lowerIsTemp = false
  for (let i = layers.length - 2; i >= -1; i--) {
    const target = i <= 0 ? out : `${out}.${i}`
    cloneTree(lower, target)
    if (i >= 0) {
      const merge = new Merge(lower, xattrs)
      merge.apply(layers[i], target, '/')
      copyDirAttrs(layers[i], target, {overlayMarks: false})
      copyTimes(layers[i], target)
    }
    if (lowerIsTemp) removeEntry(lower)
    lower = target
    lowerIsTemp = true
    if (i <= 0) break
  }
}

/** Where a path of the layer below leads: its directory there, and where the lookup goes on below it. */
type Lookup = {dir: string | null; below: string | null}

/** Applies one upper layer onto a clone of the layer below it (`lowerRoot`, read for redirects). */
class Merge {
  constructor(
    private readonly lowerRoot: string,
    private readonly xattrs: OverlayXattrs,
  ) {}

  /** `upperDir` over `outDir` (the clone at the same view path); `lowerPath`: where `outDir` sits in the lower layer. */
  apply(upperDir: string, outDir: string, lowerPath: string | null): void {
    for (const name of fs.readdirSync(upperDir)) {
      const upper = path.join(upperDir, name)
      const out = path.join(outDir, name)
      const stat = fs.lstatSync(upper, {bigint: true})
      if (!stat.isDirectory() || isWhiteout(stat)) {
        // A file, a symlink or a whiteout hides whatever is below it, in every layer.
        removeEntry(out)
        linkEntry(upper, out)
        continue
      }
      const redirect = this.xattrs.redirect(upper)
      if (this.xattrs.isOpaque(upper)) {
        // Walked, not cloned: an absolute redirect inside it still points into the layer below.
        removeEntry(out)
        fs.mkdirSync(out, {mode: 0o700})
        setOpaque(out)
        this.apply(upper, out, null)
      } else if (redirect !== undefined) this.applyRedirected(upper, out, redirect, lowerPath)
      else this.applyPlain(upper, out, lowerPath === null ? null : path.posix.join(lowerPath, name))
      copyDirAttrs(upper, out, {overlayMarks: false})
      copyTimes(upper, out)
    }
  }

  /** A directory merged with whatever the layer below has at the same path. */
  private applyPlain(upper: string, out: string, lowerPath: string | null): void {
    const existing = fs.lstatSync(out, {throwIfNoEntry: false})
    if (existing?.isDirectory()) {
      this.apply(upper, out, lowerPath)
      return
    }
    // Over a file or a whiteout of the layer below, a directory shows nothing of the layers under it.
    removeEntry(out)
    fs.mkdirSync(out, {mode: 0o700})
    if (existing) setOpaque(out)
    this.apply(upper, out, existing ? null : lowerPath)
  }

  /** A renamed directory: its lower part is found (and now merged) where its redirect points. */
  private applyRedirected(upper: string, out: string, redirect: string, parentLower: string | null): void {
    removeEntry(out)
    const target = redirect.startsWith('/') ? redirect : parentLower === null ? null : path.posix.join(parentLower, redirect)
    const found: Lookup = target === null ? {dir: null, below: null} : this.lookup(target)
    if (found.dir) cloneTree(found.dir, out)
    else fs.mkdirSync(out, {mode: 0o700})
    removeXattr(out, REDIRECT)
    removeXattr(out, OPAQUE)
    if (found.below === null) setOpaque(out)
    else setXattr(out, REDIRECT, Buffer.from(found.below))
    this.apply(upper, out, target)
  }

  /**
   * What overlayfs's lookup of absolute `target` finds in the lower layer (fs/overlayfs/namei.c:
   * ovl_lookup_layer): component by component, a redirect replaces the path looked up further down,
   * an opaque directory stops the lookup below (an absolute redirect under it resumes it), a whiteout
   * or a non-directory ends it.
   */
  private lookup(target: string): Lookup {
    let dir: string | null = this.lowerRoot
    let below = ''
    let stop = false
    for (const name of target.split('/').filter(Boolean)) {
      below = `${below}/${name}`
      if (dir === null) continue
      const next = path.join(dir, name)
      const stat = fs.lstatSync(next, {bigint: true, throwIfNoEntry: false})
      if (!stat) {
        dir = null
        continue
      }
      if (!stat.isDirectory()) return {dir: null, below: null}
      dir = next
      if (this.xattrs.isOpaque(next)) {
        stop = true
        continue
      }
      const redirect = this.xattrs.redirect(next)
      if (redirect === undefined) continue
      if (redirect.startsWith('/')) {
        below = redirect
        stop = false
      } else below = path.posix.join(path.posix.dirname(below), redirect)
    }
    return {dir, below: stop ? null : below}
  }
}
