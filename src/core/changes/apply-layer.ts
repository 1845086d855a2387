import fs from 'node:fs'
import path from 'node:path'

import {copyDirMetadata, lstatIfAny, setOpaque, setTimes} from './fs-calls.js'

/** The archived times of the layer's directories that merge (rel path -> [atimeNs, mtimeNs]). */
export type DirTimes = Record<string, [string, string]>

/**
 * Applies an extracted layer in overlayfs form (`layer`, see `extractLayer`) onto an upper layer, by
 * renames only: the result shows, over the base, what applying the layer to the old merged view gives
 * (the OCI rules: an entry replaces what was at its path, a directory merges with a directory, a
 * whiteout deletes, an opaque directory hides what was below it). What the upper loses goes to `trash`.
 *
 * Crash protocol: `planApply` runs first and encodes every decision in the layer itself (a directory
 * that must replace rather than merge gets its opaque mark), so that `applyLayer` depends only on what
 * is left of `layer`: each entry leaves it when it is in place (a directory once its content has, and
 * its metadata is set), and running `applyLayer` again after a crash finishes the same job. Moving
 * entries out of a directory changes its times, so the archived ones are returned here, for the caller
 * to keep durably next to the layer before it starts.
 */
export function planApply(layer: string, upper: string): DirTimes {
  const times: DirTimes = {}
  const walk = (rel: string) => {
    const st = fs.lstatSync(path.join(layer, rel), {bigint: true})
    times[rel] = [st.atimeNs.toString(), st.mtimeNs.toString()]
    for (const name of fs.readdirSync(path.join(layer, rel))) {
      const childRel = path.join(rel, name)
      const ours = fs.lstatSync(path.join(layer, childRel), {bigint: true})
      if (!ours.isDirectory()) continue
      const theirs = lstatOrNull(path.join(upper, childRel))
      // A directory over a deletion or a non-directory must not merge with what the base has there.
      if (theirs && !theirs.isDirectory()) {
        setOpaque(path.join(layer, childRel))
        setTimes(path.join(layer, childRel), ours.atimeNs, ours.mtimeNs)
        continue
      }
      if (theirs?.isDirectory()) walk(childRel)
    }
  }
  walk('')
  return times
}

export interface ApplyOptions {
  times: DirTimes
  /** Whether the layer's own root carries the volume root's metadata (it had a `./` entry). */
  setRoot: boolean
  isOpaque: (dir: string) => boolean
  /** A fresh name in the trash directory (same file system as `upper`). */
  trashName: () => string
  crash?: (step: string) => void
}

export function applyLayer(layer: string, upper: string, options: ApplyOptions): void {
  const root = fs.lstatSync(upper, {bigint: true})
  applyDir(layer, upper, '', options)
  if (options.setRoot) setDirMetadata(layer, upper, '', options.times)
  else setTimes(upper, root.atimeNs, root.mtimeNs)
}

function setDirMetadata(src: string, dst: string, rel: string, times: DirTimes): void {
  copyDirMetadata(src, dst)
  const saved = times[rel]
  if (saved) setTimes(dst, BigInt(saved[0]), BigInt(saved[1]))
}

function applyDir(from: string, to: string, rel: string, options: ApplyOptions): void {
  for (const name of fs.readdirSync(from)) {
    const src = path.join(from, name)
    const dst = path.join(to, name)
    const childRel = path.join(rel, name)
    const ours = fs.lstatSync(src, {bigint: true})
    const theirs = lstatOrNull(dst)
    if (ours.isDirectory() && !options.isOpaque(src) && theirs?.isDirectory()) {
      applyDir(src, dst, childRel, options)
      setDirMetadata(src, dst, childRel, options.times)
      fs.rmdirSync(src)
      continue
    }
    // Everything else replaces what the upper had: a file, a link, a whiteout, a whole directory (which
    // merges with the base as any upper directory does unless planApply marked it opaque).
    if (theirs) fs.renameSync(dst, options.trashName())
    options.crash?.('import:entry-trashed')
    fs.renameSync(src, dst)
  }
}

function lstatOrNull(p: string): fs.BigIntStats | null {
  return lstatIfAny(p) ?? null
}
