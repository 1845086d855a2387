import {readdirSync, statSync} from 'node:fs'
import fs from 'node:fs/promises'

import {diskUsage} from '../disk/disk-usage.js'
import type {Metadata} from '../disk/metadata.js'
import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {assertNothingPlanted, checkedVolumeStats} from '../disk/planted.js'
import {readRecords} from '../disk/records.js'
import {lowerLayerDirs, readLayerIndex} from '../disk/layer-index.js'
import {DotError, errnoCode, wrap} from '../errors.js'
import {mountedOn} from '../kernel/limit-fs.js'
import {overlayMountedGiven, overlayMountedOn, overlayMountsUnder} from '../kernel/overlays.js'
import type {StoreContext} from './context.js'
import {hasLimit, limitUsage} from './limit.js'

/** A volume as both faces show it. Cheap to build: no walk of the upper layer. */
export interface Volume {
  name: string
  base: string
  volatile: boolean
  createdAt: Date
  /** Whether the overlay is mounted. */
  mounted: boolean
  /** The merged view, present only while mounted. */
  mountpoint?: string
  /** Active mount IDs and how many times each is mounted. */
  mounts: Record<string, number>
  /** The upper layer: the volume's changes (since its newest snapshot, if any). */
  upper: string
  /** How many snapshots (frozen layers) it has. */
  snapshots: number
  /** The size limit of the changes in bytes (size=), and what of it is used; absent without one. */
  sizeLimit?: number
  limitUsed?: number
  /** The changes live on a tmpfs while mounted (tmpfs=true). */
  tmpfs?: boolean
}

/** How long the root must have been unchanged for its listing to be reused (well over a kernel tick). */
const NAMES_CACHE_QUIET_NS = 50_000_000n
/** Up to this many volumes, List checks each one's mountpoint rather than read the mount table. */
const FEW_VOLUMES = 8
/** Up to this many entries in the root, it is listed synchronously (see `volumeNames`). */
const SYNC_LISTING_MAX = 2000

// Reads take no lock and tolerate a volume vanishing mid-read.

export function getVolume(ctx: StoreContext, name: string): Volume {
  validateName(name)
  const {layout} = ctx
  // The planted check's lstats also tell whether the mountpoint is a mount point: two stats fewer.
  const stats = checkedVolumeStats(layout, name, {read: true})
  const meta = ctx.metadata.read(layout.metadata(name), name, ctx.logger)
  const mounted = overlayMountedGiven(layout.mountpoint(name), stats.mountpoint, stats.dir)
  const records = stats.activemounts ? readRecords(layout, name) : new Map<string, number>()
  return toVolume(ctx, name, meta, records, mounted, {layers: stats.layers !== undefined})
}

/**
 * The names of all volumes: directories of the root with a valid name. No per-volume reads.
 * The listing is reused while the root's mtime is unchanged (creating, removing or renaming an entry
 * changes it), saving a readdir on every `docker volume ls`. The kernel stamps mtimes from a coarse
 * clock, so a listing is kept only when the root had not changed for NAMES_CACHE_QUIET_NS before it
 * was read: a later change is then at least a tick later and gets a newer stamp.
 */
export async function volumeNames(ctx: StoreContext): Promise<string[]> {
  const {root} = ctx.layout
  let stat
  try {
    stat = statSync(root, {bigint: true})
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []
    throw wrap(`listing ${root}`, err)
  }
  if (ctx.namesCache?.mtimeNs === stat.mtimeNs) return [...ctx.namesCache.names]
  ctx.namesCache = undefined
  let entries
  try {
    // A small root is read synchronously, quicker than a thread-pool round trip; a large one in the
    // pool, so that other requests are not held up (figures in BENCHMARKS.md).
    entries = (ctx.lastListingSize ?? 0) <= SYNC_LISTING_MAX ? readdirSync(root, {withFileTypes: true}) : await fs.readdir(root, {withFileTypes: true})
    ctx.lastListingSize = entries.length
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return []
    throw wrap(`listing ${root}`, err)
  }
  const names: string[] = []
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    try {
      names.push(validateName(entry.name))
    } catch {
      // Not ours (a name we never create); `dot gc` reports it.
    }
  }
  names.sort()
  if (BigInt(Date.now()) * 1_000_000n - stat.mtimeNs > NAMES_CACHE_QUIET_NS) ctx.namesCache = {mtimeNs: stat.mtimeNs, names: [...names]}
  return names
}

/** Names with their mountpoint when mounted: what the plugin's List needs, without reading each volume. */
export async function listBrief(ctx: StoreContext): Promise<{name: string; mountpoint?: string}[]> {
  const names = await volumeNames(ctx)
  // A few volumes are checked one by one (a stat each): rendering /proc/self/mountinfo costs the kernel
  // more than several stats however few mounts it lists.
  if (names.length <= FEW_VOLUMES) {
    return names.map((name) => {
      const mountpoint = ctx.layout.mountpoint(name)
      return overlayMountedOn(mountpoint) ? {name, mountpoint} : {name}
    })
  }
  const mounts = await overlayMountsUnder(ctx.layout.root)
  // Few volumes are mounted: name them from their mountpoints rather than build a path for every volume.
  const mounted = new Map<string, string>()
  for (const mountpoint of mounts.keys()) {
    const name = ctx.layout.volumeOfMountpoint(mountpoint)
    if (name !== undefined) mounted.set(name, mountpoint)
  }
  return names.map((name) => {
    const mountpoint = mounted.get(name)
    return mountpoint ? {name, mountpoint} : {name}
  })
}

/** Every volume, read in full. Volumes with unreadable metadata are skipped (and logged): gc reports them. */
export async function listVolumes(ctx: StoreContext): Promise<Volume[]> {
  const {layout} = ctx
  const [names, mounts] = await Promise.all([volumeNames(ctx), overlayMountsUnder(ctx.layout.root)])
  const volumes: Volume[] = []
  for (const name of names) {
    try {
      assertNothingPlanted(layout, name)
      const meta = readMetadata(layout.metadata(name), name, ctx.logger)
      volumes.push(toVolume(ctx, name, meta, readRecords(layout, name), mounts.has(layout.mountpoint(name))))
    } catch (err) {
      if (!(err instanceof DotError && err.code === 'not-found')) ctx.logger.warn((err as Error).message)
    }
  }
  return volumes
}

/** Bytes the volume's changes occupy, snapshot layers included. Walks them: for admins, never on a hot path. */
export async function changesSize(ctx: StoreContext, name: string): Promise<number> {
  validateName(name)
  const meta = readMetadata(ctx.layout.metadata(name), name)
  // An image not mounted since boot: its upper cannot be walked without a mount; its blocks are the answer.
  if (hasLimit(meta) && !mountedOn(ctx.layout.limit(name))) return limitUsage(ctx, name, meta)?.used ?? 0
  const sizes = await Promise.all([ctx.layout.upper(name), ...lowerLayerDirs(ctx.layout, name)].map((dir) => diskUsage(dir)))
  return sizes.reduce((a, b) => a + b, 0)
}

/** `known.layers`: whether layers/ exists, when the caller already looked (false: no snapshots, nothing to read). */
export function toVolume(ctx: StoreContext, name: string, meta: Metadata, records: Map<string, number>, mounted: boolean, known: {layers?: boolean} = {}): Volume {
  const volume: Volume = {
    name,
    base: meta.base,
    volatile: meta.volatile,
    createdAt: meta.createdAt,
    mounted,
    mounts: Object.fromEntries([...records].sort(([a], [b]) => a.localeCompare(b))),
    upper: ctx.layout.changesOf(name, hasLimit(meta)).upper,
    snapshots: known.layers === false ? 0 : readLayerIndex(ctx.layout, name).layers.length,
  }
  if (mounted) volume.mountpoint = ctx.layout.mountpoint(name)
  const usage = limitUsage(ctx, name, meta)
  if (usage) {
    volume.sizeLimit = usage.limit
    volume.limitUsed = usage.used
  }
  if (meta.tmpfs) volume.tmpfs = true
  return volume
}
