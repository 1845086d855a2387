import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode} from '../errors.js'
import {overlayMount} from '../kernel/overlay-options.js'
import {tryLockExclusive} from '../kernel/flock.js'
import type {Mounter} from '../kernel/mounter.js'
import {type Check, check} from './check.js'
import {probeTrustedXattr} from './xattr-probe.js'

/** statfs(2) magic numbers of file systems an upper layer cannot live on, or must be checked. */
const FS_NAMES: Record<number, string> = {
  0x794c7630: 'overlayfs',
  0x6969: 'nfs',
  0x65735546: 'fuse',
  0x58465342: 'xfs',
  0xef53: 'ext4',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x2fc12fc1: 'zfs',
}
const NOT_AN_UPPER = new Set(['overlayfs', 'nfs', 'fuse'])
/** Below these, creates and copy-ups start failing with ENOSPC soon. */
const MIN_FREE_BYTES = 1024 ** 3
const MIN_FREE_INODES = 10_000

export function running(euid = process.geteuid?.()): Check {
  if (euid === 0) return check('privileges', 'ok', 'running as root')
  return check('privileges', 'fail', `running as uid ${euid}: mounting overlays and reading their trusted.* xattrs needs root (the checks below are partial)`, 'sudo dot doctor')
}

/**
 * The root's file system, tried for real in a scratch directory inside it (`.tmp-doctor-*`, which
 * `dot gc` sweeps should doctor die midway): its type, a trusted.* xattr, an flock, an overlay
 * mounted with its upper layer there (which is what needs d_type), and free space and inodes.
 */
export async function rootChecks(root: string, mounter: () => Promise<Mounter>): Promise<Check[]> {
  const stat = await fs.stat(root).catch((err: unknown) => err as Error)
  if (stat instanceof Error) {
    if (errnoCode(stat) === 'ENOENT') return [check('root', 'warn', `root ${root} does not exist yet (made by the first create)`, `check that ${path.dirname(root)} is on the file system you want volumes on`)]
    return [check('root', 'fail', `root ${root} cannot be read: ${stat.message}`)]
  }
  if (!stat.isDirectory()) return [check('root', 'fail', `root ${root} is not a directory`, `move the file away, or choose another --root`)]
  const checks: Check[] = [check('root', 'ok', `root ${root} exists`)]
  const fsType = await fsTypeOf(root)
  if (NOT_AN_UPPER.has(fsType)) {
    checks.push(check('root-fs', 'fail', `root ${root} is on ${fsType}, which overlayfs cannot use for upper layers`, 'put the root on a local ext4, xfs or btrfs (e.g. --root /var/lib/docker-on-top on the host, not in a container or on NFS)'))
  } else {
    checks.push(check('root-fs', 'ok', `root ${root} is on ${fsType}`))
  }
  const scratch = await fs.mkdtemp(path.join(root, '.tmp-doctor-')).catch((err: Error) => err)
  if (scratch instanceof Error) return [...checks, check('root-writable', 'fail', `cannot create a directory in ${root}: ${scratch.message}`, 'run as root, and check that the file system is mounted read-write')]
  try {
    checks.push(await xattrCheck(scratch), await flockCheck(scratch), await overlayProbe(scratch, await mounter()))
  } finally {
    await fs.rm(scratch, {recursive: true, force: true})
  }
  checks.push(...(await spaceChecks(root)))
  return checks
}

async function fsTypeOf(dir: string): Promise<string> {
  const {type} = await fs.statfs(dir)
  return FS_NAMES[type] ?? `a file system of type 0x${type.toString(16)}`
}

async function xattrCheck(dir: string): Promise<Check> {
  const problem = probeTrustedXattr(dir)
  if (!problem) return check('root-xattrs', 'ok', 'trusted.* xattrs work on the root (overlayfs keeps whiteouts, opaque and redirect marks in them)')
  return check('root-xattrs', 'fail', `trusted.* xattrs do not work on the root: ${problem}`, 'run as root, on a file system with xattrs (ext4, xfs, btrfs; not vfat or a FUSE mount without them)')
}

async function flockCheck(dir: string): Promise<Check> {
  const handle = await fs.open(dir, 'r')
  try {
    if (tryLockExclusive(handle.fd)) return check('root-flock', 'ok', 'flock(2) works on the root (each volume is locked with one)')
    return check('root-flock', 'fail', 'flock(2) on a fresh directory of the root was refused as busy', 'use a local file system for the root')
  } catch (err) {
    return check('root-flock', 'fail', `flock(2) does not work on the root: ${(err as Error).message}`, 'use a local file system for the root (NFS without lock support refuses flock)')
  } finally {
    await handle.close()
  }
}

/** A real overlay with its upper layer on the root: the kernel refuses file systems without d_type. */
async function overlayProbe(dir: string, mounter: Mounter): Promise<Check> {
  const [lower, upper, workdir, mountpoint] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(dir, d))
  await Promise.all([lower, upper, workdir, mountpoint].map((d) => fs.mkdir(d)))
  await fs.writeFile(path.join(lower, 'file'), 'base\n')
  const mount = {...overlayMount('doctor', {base: lower, upper, workdir, mountpoint}), source: 'dot-doctor-probe'}
  try {
    await mounter.mount(mount)
  } catch (err) {
    return check('root-overlay', 'fail', `an overlay with its upper layer on the root cannot be mounted: ${(err as Error).message}`, 'the root needs d_type (xfs: mkfs.xfs -n ftype=1) and must not be overlayfs; dmesg tells more')
  }
  try {
    await fs.writeFile(path.join(mountpoint, 'file'), 'changed\n')
    const copied = await fs.readFile(path.join(upper, 'file'), 'utf8')
    if (copied !== 'changed\n') return check('root-overlay', 'fail', 'an overlay mounted on the root did not copy a write up to its upper layer')
    return check('root-overlay', 'ok', 'an overlay mounts with its upper layer on the root, and copies up (d_type works)')
  } finally {
    await mounter.unmount(mountpoint, {detach: true})
  }
}

async function spaceChecks(root: string): Promise<Check[]> {
  const s = await fs.statfs(root)
  const freeBytes = s.bavail * s.bsize
  const gib = (freeBytes / 1024 ** 3).toFixed(1)
  const space =
    freeBytes < MIN_FREE_BYTES
      ? check('root-space', 'warn', `${gib} GiB free on the root's file system: writes in volumes will soon fail with ENOSPC`, 'free space, or remove volumes you no longer need (dot ls shows each one\'s CHANGES)')
      : check('root-space', 'ok', `${gib} GiB free on the root's file system`)
  // Some file systems (btrfs) report no inode limit at all: files = 0.
  if (s.files === 0) return [space, check('root-inodes', 'ok', 'the root\'s file system has no fixed inode count')]
  const inodes =
    s.ffree < MIN_FREE_INODES
      ? check('root-inodes', 'warn', `${s.ffree} inodes free on the root's file system: creating files in volumes will soon fail`, 'free inodes (many small files?), or move the root to a file system with more')
      : check('root-inodes', 'ok', `${s.ffree} inodes free on the root's file system`)
  return [space, inodes]
}
