import {existsSync, readFileSync} from 'node:fs'

import {type MountEntry, parseMountinfo} from './mountinfo.js'

/**
 * Whether the file system under a path commits metadata operations to the disk in the order they were
 * made, so that after a power cut a later one (a container's file in a new volume) has survived only
 * if every earlier one did too (the volume's rename into place, the xattr copy of its metadata). Why
 * that keeps the durability rule: docs/rules.md, rule 7.
 */
export interface MetadataOrder {
  ordered: boolean
  /** For the log: the file system and why it is or is not taken as ordered. */
  why: string
}

/** What the block device of an ext3/ext4 mount says about its journal (see `probeExtJournal`). */
export interface ExtJournal {
  /** The device's kernel name (vda, sda1, dm-0), when known. */
  device?: string
  journal: boolean
  /** Mounted data=writeback: a new file's blocks may show stale data after a power cut. */
  writeback: boolean
}

/** The mount `p` lives on: the longest mountpoint above it, the last mounted of equals (the visible one). */
export function mountOf(p: string, entries: MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined
  for (const entry of entries) {
    const mp = entry.mountpoint
    if (p !== mp && mp !== '/' && !p.startsWith(mp + '/')) continue
    if (!best || mp.length >= best.mountpoint.length) best = entry
  }
  return best
}

/** The verdict for a mount; `probe` is asked only for ext3/ext4. */
export function judgeOrder(entry: MountEntry | undefined, probe: (dev: string) => ExtJournal = probeExtJournal): MetadataOrder {
  if (!entry) return {ordered: false, why: 'no mount found for the root'}
  const {fstype} = entry
  if (fstype === 'tmpfs') return {ordered: true, why: 'tmpfs: nothing on it survives a power cut'}
  if (fstype === 'xfs') return {ordered: true, why: 'xfs: its log commits metadata in order'}
  if (fstype === 'ext4' || fstype === 'ext3') {
    const found = probe(entry.dev)
    const name = found.device ?? entry.dev
    if (!found.journal) return {ordered: false, why: `${fstype} on ${name} without a journal (no /proc/fs/jbd2/${name}-8)`}
    // Metadata is still in order, but a new file's blocks may be allocated with stale data in them: a
    // metadata.json could read as another volume's, valid but wrong.
    if (found.writeback) return {ordered: false, why: `${fstype} on ${name} mounted data=writeback`}
    return {ordered: true, why: `${fstype} on ${name} with a journal: transactions commit in order`}
  }
  // btrfs commits transactions in order, but an fsync writes its tree log, which log replay applies
  // without the running transaction: a container's fsynced file comes back in a volume directory
  // whose metadata.json (and maybe xattrs) never reached the disk.
  if (fstype === 'btrfs') return {ordered: false, why: 'btrfs: an fsync replays from its tree log without the transaction that made the volume'}
  return {ordered: false, why: `${fstype}: the order of metadata after a power cut is not known`}
}

/** The journal of the ext3/ext4 on block device `dev` (major:minor), from /sys and /proc. */
export function probeExtJournal(dev: string): ExtJournal {
  let device: string | undefined
  try {
    device = /^DEVNAME=(.+)$/m.exec(readFileSync(`/sys/dev/block/${dev}/uevent`, 'utf8'))?.[1]
  } catch {
    // Not a block device (a pseudo one): no journal can be found.
  }
  if (device === undefined) return {journal: false, writeback: false}
  // The kernel names a device's journal and ext4 entries with '/' as '!' (cciss/c0d0 -> cciss!c0d0).
  const kernelName = device.replaceAll('/', '!')
  // An internal journal is inode 8: jbd2 names it <device>-8. An external one is not recognised: fsync.
  const journal = existsSync(`/proc/fs/jbd2/${kernelName}-8`)
  let options = ''
  try {
    options = readFileSync(`/proc/fs/ext4/${kernelName}/options`, 'utf8')
  } catch {
    // Older kernels lack the file: ordered (the default) is assumed.
  }
  return {device: kernelName, journal, writeback: /^data=writeback$/m.test(options)}
}

/** The verdict for the file system `p` (a real path, existing or not) is on. */
export function metadataOrderOf(p: string, mountinfo = '/proc/self/mountinfo'): MetadataOrder {
  try {
    return judgeOrder(mountOf(p, parseMountinfo(readFileSync(mountinfo, 'utf8'))))
  } catch (err) {
    return {ordered: false, why: `reading ${mountinfo}: ${(err as Error).message}`}
  }
}
