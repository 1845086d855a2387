import {DotError, inUse} from '../errors.js'
import type {Metadata} from '../disk/metadata.js'
import {mountedOn} from '../kernel/limit-fs.js'
import {ensureChangesFs, hasLimit} from '../volume/limit.js'
import type {VolumeStore} from '../volume/store.js'

/** The checks every change operation starts with. */

export function requireRoot(what: string): void {
  if (process.geteuid?.() !== 0) {
    throw new DotError('unsupported', `${what} must run as root: overlayfs keeps its whiteouts and opaque-directory marks where only root can read and write them`)
  }
}

/**
 * A size-limited volume's image mounted (under the volume's lock) before its changes are read without
 * it; false for a tmpfs volume not in use, which has none (volume/limit.ts).
 */
export async function changesReadable(store: VolumeStore, name: string, meta: Metadata): Promise<boolean> {
  // Mounted already (or no limit): no lock taken, so a verb holding it (reset's backup) can call this.
  if (!hasLimit(meta) || mountedOn(store.layout.limit(name))) return true
  return store.withVolumeLock(name, () => ensureChangesFs(store.context, name, meta))
}

export async function refuseInUse(store: VolumeStore, name: string): Promise<void> {
  const volume = await store.get(name)
  const ids = Object.keys(volume.mounts)
  if (volume.mounted || ids.length > 0) {
    throw inUse(`volume "${name}" is in use (${ids.length} active mount${ids.length === 1 ? '' : 's'}${ids.length ? `: ${ids.join(', ')}` : ''}); stop the containers using it first`, {name, mounts: volume.mounts})
  }
}
