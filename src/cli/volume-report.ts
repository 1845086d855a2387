import type {Volume, VolumeStore} from '../core/volume/store.js'

/**
 * One volume as `dot inspect` and `dot ls --json` print it (the shape of `docker volume inspect`, in
 * camelCase). `changesBytes` is the disk space of the upper layer, which costs a walk of it: only the
 * admin commands pay for that, never the plugin.
 */
export interface VolumeReport {
  name: string
  base: string
  volatile: boolean
  createdAt: string
  state: 'mounted' | 'idle'
  mountpoint?: string
  /** Active mount IDs with their usage counts. */
  mounts: Record<string, number>
  upper: string
  /** How many snapshots it has. */
  snapshots: number
  /** Disk space of its changes: the upper layer and the snapshot layers. */
  changesBytes: number
  /** With size=: the limit in bytes and what its file system uses of it. */
  sizeLimit?: number
  limitUsedBytes?: number
  /** With tmpfs=true: the changes live in memory while mounted. */
  tmpfs?: boolean
  /** Volatile, idle and with changes: they are wiped at its next first mount (`dot recover` saves them). */
  wipeAtNextMount: boolean
}

export async function reportVolume(store: VolumeStore, volume: Volume): Promise<VolumeReport> {
  return {
    name: volume.name,
    base: volume.base,
    volatile: volume.volatile,
    createdAt: volume.createdAt.toISOString(),
    state: volume.mounted ? 'mounted' : 'idle',
    // Present only while mounted (absent, not null, like docker's optional fields).
    ...(volume.mountpoint ? {mountpoint: volume.mountpoint} : {}),
    mounts: volume.mounts,
    upper: volume.upper,
    snapshots: volume.snapshots,
    ...(await changes(store, volume)),
    ...(volume.sizeLimit !== undefined ? {sizeLimit: volume.sizeLimit, limitUsedBytes: volume.limitUsed ?? 0} : {}),
    ...(volume.tmpfs ? {tmpfs: true} : {}),
  }
}

async function changes(store: VolumeStore, volume: Volume): Promise<{changesBytes: number; wipeAtNextMount: boolean}> {
  const changesBytes = await store.changesSize(volume.name)
  return {changesBytes, wipeAtNextMount: volume.volatile && !volume.mounted && changesBytes > 0}
}
