import fs from 'node:fs'
import path from 'node:path'

import {isWhiteout, type OverlayAttrReader} from '../diff/changes.js'
import {lstatIfAny, OVERLAY_XATTR_PREFIX, removeXattr, syncFileSystem} from './fs-calls.js'
import {copyEntries} from './tree-copy.js'

/**
 * The four phases of a commit (see commit.ts for the protocol). Each keeps the merged view of upper
 * over base exactly as it was, and each can run again after a crash.
 */

/**
 * 1. Directories renamed with redirect_dir merge with the base directory they came from. Each gets a
 * copy of that directory at its new path in the base (hidden there until then), durable, and only then
 * loses its redirect: it now merges with the copy, which shows the same. Top-down, so a relative
 * redirect below finds its source in the copy of its parent.
 */
export async function resolveRedirects(upper: string, base: string, xattrs: OverlayAttrReader, scratch: string): Promise<number> {
  let resolved = 0
  const walk = async (rel: string, lower: string | null) => {
    for (const name of fs.readdirSync(path.join(upper, rel))) {
      const childRel = path.join(rel, name)
      const full = path.join(upper, childRel)
      if (!fs.lstatSync(full).isDirectory()) continue
      if (xattrs.isOpaque(full)) continue // hides the base below it: no lower to follow
      const redirect = xattrs.redirect(full)
      if (redirect !== undefined) {
        const source = redirect.startsWith('/') ? path.join(base, redirect) : lower ? path.join(lower, redirect) : null
        const target = path.join(base, childRel)
        fs.rmSync(target, {recursive: true, force: true})
        if (source && lstatIfAny(source)?.isDirectory()) {
          fs.mkdirSync(target)
          await copyEntries({from: source, to: target, scratch})
        }
        syncFileSystem(base)
        removeXattr(full, `${OVERLAY_XATTR_PREFIX}redirect`)
        resolved++
      }
      const below = path.join(base, childRel)
      await walk(childRel, lstatIfAny(below)?.isDirectory() ? below : null)
    }
  }
  await walk('', base)
  if (resolved > 0) syncFileSystem(upper)
  return resolved
}

/**
 * 2. Deletes from the base what the upper hides: whiteouts' targets, the content below opaque
 * directories, directories an upper non-directory replaces and non-directories an upper directory
 * replaces (GNU tar would not replace those itself). Hidden, so the view does not change.
 */
export function deleteHidden(upper: string, base: string, xattrs: OverlayAttrReader): void {
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(upper, rel))) {
      const childRel = path.join(rel, name)
      const ours = fs.lstatSync(path.join(upper, childRel), {bigint: true})
      const target = path.join(base, childRel)
      const theirs = lstatIfAny(target)
      if (isWhiteout(ours)) {
        if (theirs) fs.rmSync(target, {recursive: true, force: true})
      } else if (!ours.isDirectory()) {
        if (theirs?.isDirectory()) fs.rmSync(target, {recursive: true, force: true})
      } else {
        if (theirs && !theirs.isDirectory()) fs.rmSync(target, {force: true})
        else if (theirs && xattrs.isOpaque(path.join(upper, childRel))) {
          for (const child of fs.readdirSync(target)) fs.rmSync(path.join(target, child), {recursive: true, force: true})
        }
        walk(childRel)
      }
    }
  }
  walk('')
  // Made durable together with the copy (phase 3) before any whiteout leaves the upper (phase 4).
}

/** 3. Every upper entry but whiteouts, written into the base with all it carries; durable. */
export async function copyUpperIntoBase(upper: string, base: string, scratch: string, onBytes?: (n: number) => void): Promise<number> {
  const entries: string[] = []
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(upper, rel)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`
      const st = fs.lstatSync(path.join(upper, childRel), {bigint: true})
      if (isWhiteout(st)) continue
      entries.push(`./${childRel}`)
      if (st.isDirectory()) walk(childRel)
    }
  }
  walk('')
  if (entries.length > 0) await copyEntries({from: upper, to: base, entries, scratch, onBytes})
  syncFileSystem(base)
  return entries.length
}

/**
 * 4. Empties the upper layer. The base now holds what the view shows, so every upper entry can go, one
 * at a time, once no directory is opaque any more (an opaque directory losing a child would hide it).
 * No syncfs in between: the journal of ext4 and xfs commits metadata changes in order, so no deletion
 * can outlive a crash that lost the removal of an opaque mark made before it.
 */
export function emptyUpper(upper: string, onRemoved?: () => void): void {
  const clearMarks = (dir: string) => {
    for (const name of fs.readdirSync(dir)) {
      const full = path.join(dir, name)
      if (!fs.lstatSync(full).isDirectory()) continue
      removeXattr(full, `${OVERLAY_XATTR_PREFIX}opaque`)
      clearMarks(full)
    }
  }
  clearMarks(upper)
  for (const name of fs.readdirSync(upper)) {
    fs.rmSync(path.join(upper, name), {recursive: true, force: true})
    onRemoved?.()
  }
  syncFileSystem(upper)
}
