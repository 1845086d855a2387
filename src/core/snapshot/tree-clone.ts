import fs from 'node:fs'
import path from 'node:path'

import {unsupported} from '../errors.js'
import {setTimes} from '../changes/fs-calls.js'
import {readXattrs, removeXattr, setXattr} from '../kernel/xattrs.js'

/** overlayfs's own marks on a layer's directories (opaque, redirect, origin, impure...). */
export const OVERLAY_PREFIX = 'trusted.overlay.'

/**
 * Copies the tree `from` to the new path `to` the cheap way: directories are made again with all
 * their metadata (overlayfs's marks included), everything else (files, symlinks, whiteouts) is hard
 * linked, so hard links inside a layer stay one inode. Both must be on one file system: layers are.
 */
export function cloneTree(from: string, to: string): void {
  const stat = fs.lstatSync(from, {bigint: true})
  if (!stat.isDirectory()) {
    linkEntry(from, to)
    return
  }
  fs.mkdirSync(to, {mode: 0o700})
  for (const name of fs.readdirSync(from)) cloneTree(path.join(from, name), path.join(to, name))
  copyDirAttrs(from, to, {overlayMarks: true})
  setTimes(to, stat.atimeNs, stat.mtimeNs)
}

/** A hard link of `from` at `to`; a layer split across file systems cannot be merged this way. */
export function linkEntry(from: string, to: string): void {
  try {
    fs.linkSync(from, to)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EXDEV') throw unsupported(`merging layers needs them on one file system; ${from} and ${to} are not`)
    throw err
  }
}

/**
 * Gives directory `to` the owner, mode and xattrs of `from`: what the view shows of a directory comes
 * from its topmost layer. overlayfs's marks of `to` are kept (they say how `to` merges with what is
 * below it) unless `overlayMarks`, when they are copied too. Times are the caller's (set them last).
 */
export function copyDirAttrs(from: string, to: string, options: {overlayMarks: boolean}): void {
  const stat = fs.lstatSync(from)
  fs.lchownSync(to, stat.uid, stat.gid)
  const wanted = readXattrs(from)
  for (const name of readXattrs(to).keys()) {
    if (!wanted.has(name) && (options.overlayMarks || !name.startsWith(OVERLAY_PREFIX))) removeXattr(to, name)
  }
  for (const [name, value] of wanted) {
    if (options.overlayMarks || !name.startsWith(OVERLAY_PREFIX)) setXattr(to, name, value)
  }
  fs.chmodSync(to, stat.mode & 0o7777) // after chown (which clears set-id bits) and the ACL xattrs
}

/** The mtime and atime of `from` on `to`, to the nanosecond. */
export function copyTimes(from: string, to: string): void {
  const stat = fs.lstatSync(from, {bigint: true})
  setTimes(to, stat.atimeNs, stat.mtimeNs)
}

/** Removes `p` whatever it is; absent is fine. */
export function removeEntry(p: string): void {
  fs.rmSync(p, {recursive: true, force: true})
}
