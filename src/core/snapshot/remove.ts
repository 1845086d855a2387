import {closeSync, lstatSync} from 'node:fs'

import {validateTag} from '../disk/layer-index.js'
import {validateName} from '../disk/names.js'
import {requireRoot} from '../changes/guards.js'
import {waitForRecovers} from '../recover/upper-guard.js'
import type {VolumeStore} from '../volume/store.js'
import {findTag} from './list.js'
import {withIdleLayers} from './snapshot.js'
import {squashLayers} from './squash.js'
import {newLayerDir, sweepLayers, switchLayers} from './switch.js'

export interface SnapshotRemoveResult {
  volume: string
  tag: string
  /** The snapshot it was merged into, or "upper" (the changes made since the newest snapshot). */
  mergedInto: string
  snapshots: number
}

/**
 * `dot snapshot rm NAME TAG`: the layer of TAG is merged into the one above it (the next snapshot, or
 * the upper layer), so the view never changes; only the point to roll back to is gone. The merge is
 * built as a new layer (squash.ts) and takes the place of the two at the index write.
 */
export async function removeSnapshot(store: VolumeStore, name: string, tag: string): Promise<SnapshotRemoveResult> {
  validateName(name)
  validateTag(tag)
  requireRoot('dot snapshot rm')
  const {layout} = store
  const ctx = store.context
  return withIdleLayers(store, name, async (layers) => {
    const at = findTag(layers, name, tag)
    const merged = layout.layer(name, layers[at].dir)
    const rest = layers.filter((_, i) => i !== at)
    const guard = await waitForRecovers(layout.upper(name), name, 'the snapshot removal')
    try {
      if (at === layers.length - 1) {
        const upper = layout.upper(name)
        const fresh = newLayerDir('.fresh-')
        squashLayers(lstatSync(upper, {throwIfNoEntry: false}) ? [upper, merged] : [merged], layout.layer(name, fresh))
        ctx.crash('snapshot-rm:after-merge')
        switchLayers(ctx, name, {layers: rest, pending: {upperTo: newLayerDir('.dropped-'), fresh}}, 'snapshot-rm')
      } else {
        const above = layers[at + 1]
        const dir = newLayerDir()
        squashLayers([layout.layer(name, above.dir), merged], layout.layer(name, dir))
        ctx.crash('snapshot-rm:after-merge')
        switchLayers(ctx, name, {layers: rest.map((entry) => (entry === above ? {...entry, dir} : entry))}, 'snapshot-rm')
      }
    } finally {
      if (guard !== undefined) closeSync(guard)
    }
    sweepLayers(ctx, name)
    store.logger.info(`volume "${name}": snapshot "${tag}" removed`)
    return {volume: name, tag, mergedInto: at === layers.length - 1 ? 'upper' : layers[at + 1].tag, snapshots: rest.length}
  })
}
