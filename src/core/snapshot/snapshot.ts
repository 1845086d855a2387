import {closeSync, lstatSync, mkdirSync} from 'node:fs'

import {type LayerEntry, readLayerIndex, validateTag} from '../disk/layer-index.js'
import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {exists, unsupported} from '../errors.js'
import {refuseInUse} from '../changes/guards.js'
import {waitForRecovers} from '../recover/upper-guard.js'
import {hasLimit} from '../volume/limit.js'
import type {VolumeStore} from '../volume/store.js'
import {finishPending, newLayerDir, prepareFresh, sweepLayers, switchLayers} from './switch.js'

export interface SnapshotResult {
  volume: string
  tag: string
  createdAt: string
  /** Snapshots the volume has now. */
  snapshots: number
}

/** The default tag: the UTC time to the second, `20261202T061500Z`. */
export function defaultTag(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')
}

/**
 * `dot snapshot NAME [TAG]`: the volume's upper layer becomes a frozen layer (renamed, never copied)
 * and an empty upper takes its place; the view does not change. Refused while the volume is in use:
 * the upper of a mounted overlay cannot be moved. A default tag already taken gets "-2", "-3"...
 */
export async function snapshotVolume(store: VolumeStore, name: string, tag?: string, now = new Date()): Promise<SnapshotResult> {
  validateName(name)
  if (tag !== undefined) validateTag(tag)
  const ctx = store.context
  return withIdleLayers(store, name, async (layers) => {
    const taken = new Set(layers.map((entry) => entry.tag))
    const chosen = tag ?? freeDefaultTag(defaultTag(now), taken)
    if (taken.has(chosen)) throw exists(`volume "${name}" already has a snapshot tagged "${chosen}"; pick another tag (dot snapshots ${name} lists them)`, {name, tag: chosen})
    const upper = store.layout.upper(name)
    // A volume made by the Go original and never mounted may have no upper/ yet: freeze an empty one.
    if (!lstatSync(upper, {throwIfNoEntry: false})) mkdirSync(upper, {mode: 0o755})
    const guard = await waitForRecovers(upper, name, 'the snapshot')
    try {
      const fresh = prepareFresh(ctx, name, upper)
      ctx.crash('snapshot:after-fresh-made')
      const entry: LayerEntry = {tag: chosen, dir: newLayerDir(), createdAt: now.toISOString()}
      switchLayers(ctx, name, {layers: [...layers, entry], pending: {upperTo: entry.dir, fresh}}, 'snapshot')
    } finally {
      if (guard !== undefined) closeSync(guard)
    }
    sweepLayers(ctx, name)
    store.logger.info(`volume "${name}": snapshot "${chosen}" taken`)
    return {volume: name, tag: chosen, createdAt: now.toISOString(), snapshots: layers.length + 1}
  })
}

function freeDefaultTag(tag: string, taken: Set<string>): string {
  let candidate = tag
  for (let n = 2; taken.has(candidate); n++) candidate = `${tag}-${n}`
  return candidate
}

/**
 * Runs a snapshot operation on existing volume `name`, under its lock, refused while it is in use,
 * after what a crash left (a decided change, garbage) is finished and swept; `task` gets the layers.
 */
export async function withIdleLayers<T>(store: VolumeStore, name: string, task: (layers: LayerEntry[]) => Promise<T>): Promise<T> {
  const meta = readMetadata(store.layout.metadata(name), name)
  // Layers are renamed from the upper: on an image or a tmpfs of its own that rename cannot reach them.
  if (hasLimit(meta)) throw unsupported(`volume "${name}" keeps its changes on a file system of their own (size= or tmpfs=true); snapshots are not supported for such a volume yet`, {name})
  return store.withVolumeLock(name, async () => {
    await refuseInUse(store, name)
    finishPending(store.context, name)
    sweepLayers(store.context, name)
    return task(readLayerIndex(store.layout, name).layers)
  })
}
