import {createHash} from 'node:crypto'
import {chmodSync, lchownSync, lstatSync, type Stats} from 'node:fs'

import {errnoCode} from '../errors.js'
import {getXattr, readXattrs, removeXattr, setXattr} from '../kernel/xattrs.js'
import type {Logger} from '../logger.js'

/**
 * The rule: the top of a volume's view is the base's top. overlayfs shows the upper layer's root as
 * the view's root, so upper/ gets the base's owner, group, mode and the xattrs overlayfs copies up
 * (POSIX ACLs, user.* and trusted.* except overlayfs's own; not security.* labels, which policy sets)
 * when the volume is created, as Docker's overlay2 gives a new upper its lower's, and when a volatile
 * wipe starts it afresh. What was applied is stamped on the volume directory; a first mount that finds
 * the base's top changed since (while nothing was mounted) applies it again: owner, group and xattrs
 * as the base's, the mode the base's but never looser than the top's, which holds changes made under
 * the old mode. A change made to the top through the view (chmod /data) stays while the base's top
 * is unchanged.
 *
 * Who can read a volume's changes: only root through the root, since the volume directory is 0700
 * (upper/ keeps the base's mode, being the view's top, but nobody else can reach it; workdir/ is
 * 0700 too); through the view, whoever the base's top (and each file's own mode) allows.
 */
export const TOP_STAMP_XATTR = 'trusted.docker-on-top.base-top'

/** What a volume directory's mode must be: it holds the changes. */
export const VOLUME_DIR_MODE = 0o700

/** The base's top directory as the view's top takes it. */
export interface BaseTop {
  uid: number
  gid: number
  mode: number
  xattrs: Map<string, Buffer>
}

/** The top of the base open as `fd` (see base-check.ts). */
export function readBaseTop(fd: number, stat: Stats): BaseTop {
  const xattrs = new Map([...readXattrs(fd)].filter(([name]) => copiedUp(name)))
  return {uid: stat.uid, gid: stat.gid, mode: stat.mode & 0o7777, xattrs}
}

/** Whether overlayfs would give a copied-up directory this xattr of its lower one. */
function copiedUp(name: string): boolean {
  return !name.startsWith('trusted.overlay.') && !name.startsWith('security.') && name !== TOP_STAMP_XATTR
}

function stampOf(top: BaseTop): Buffer {
  const hash = createHash('sha256').update(`${top.uid}:${top.gid}:${top.mode.toString(8)}`)
  for (const [name, value] of [...top.xattrs].sort(([a], [b]) => (a < b ? -1 : 1))) hash.update(`\0${name}\0`).update(value)
  return hash.digest().subarray(0, 16)
}

/** A new upper/ (a create, a volatile wipe): exactly the base's top. */
export function applyNewTop(upper: string, volumeDir: string, top: BaseTop, logger: Logger): void {
  tightenVolumeDir(volumeDir)
  applyTop(upper, top, top.mode, logger)
  stamp(volumeDir, top, logger)
}

/**
 * At a first mount: the base's top again if it changed since it was last applied (a volume made by an
 * older build has no stamp: applied once), never loosening the mode. Also tightens a volume directory
 * an older build made 0711. Returns whether the top was changed.
 */
export function syncTop(upper: string, volumeDir: string, top: BaseTop, logger: Logger, dirStat?: Stats): boolean {
  tightenVolumeDir(volumeDir, dirStat)
  const stamped = getXattr(volumeDir, TOP_STAMP_XATTR, 16)
  if (stamped?.equals(stampOf(top))) return false
  const current = lstatSync(upper).mode & 0o7777
  applyTop(upper, top, (top.mode & 0o7000) | (top.mode & current & 0o777), logger)
  stamp(volumeDir, top, logger)
  logger.info(`volume top ${upper}: took the base's owner ${top.uid}:${top.gid} and mode ${(lstatSync(upper).mode & 0o7777).toString(8)}`)
  return true
}

/** A volume directory made 0711 by an older build becomes 0700 (`dirStat`: its lstat, if the caller has one). */
function tightenVolumeDir(volumeDir: string, dirStat = lstatSync(volumeDir)): void {
  if ((dirStat.mode & 0o7777) !== VOLUME_DIR_MODE) chmodSync(volumeDir, VOLUME_DIR_MODE)
}

/** Owner first (chown clears set-id bits), then the xattrs, then the mode: chmod sets an ACL's mask, so the mode wins. */
function applyTop(upper: string, top: BaseTop, mode: number, logger: Logger): void {
  lchownSync(upper, top.uid, top.gid)
  const existing = readXattrs(upper)
  for (const name of existing.keys()) {
    // An ACL the base no longer has goes; other xattrs on the top are the volume's own changes.
    if (name.startsWith('system.posix_acl_') && !top.xattrs.has(name)) removeXattr(upper, name)
  }
  for (const [name, value] of top.xattrs) {
    if (existing.get(name)?.equals(value)) continue
    try {
      setXattr(upper, name, value)
    } catch (err) {
      // The root's filesystem may not keep what the base's does (an NFS ACL, xattrs off): say so, go on.
      logger.warn(`${upper}: cannot copy the base's ${name} (${errnoCode(err) ?? (err as Error).message}); the view's top lacks it`)
    }
  }
  chmodSync(upper, mode)
}

function stamp(volumeDir: string, top: BaseTop, logger: Logger): void {
  try {
    setXattr(volumeDir, TOP_STAMP_XATTR, stampOf(top))
  } catch (err) {
    // Without a stamp the next first mount applies the base's top again (never loosening): harmless.
    logger.warn(`${volumeDir}: cannot record the base's top (${errnoCode(err) ?? (err as Error).message})`)
  }
}
