import {existsSync, lstatSync, readdirSync} from 'node:fs'

import {readLayerIndex} from '../disk/layer-index.js'
import {type Finding, repair} from '../repair/finding.js'
import type {StoreContext} from '../volume/context.js'
import {finishPending, sweepLayers} from './switch.js'

/** Whether a volume's layers/ holds anything to repair (one readdir; no layers/ is the common case). */
export function layersNeedRepair(ctx: StoreContext, name: string): boolean {
  const {layout} = ctx
  let entries: string[]
  try {
    entries = readdirSync(layout.layers(name))
  } catch {
    return false
  }
  try {
    const index = readLayerIndex(layout, name)
    const known = new Set(['index.json', ...index.layers.map((entry) => entry.dir)])
    return index.pending !== undefined || index.layers.length === 0 || entries.some((entry) => !known.has(entry))
  } catch {
    return true
  }
}

/**
 * Start-up's and `dot gc`'s part of the snapshot protocol (switch.ts), for an idle volume under its
 * lock: a change the index decided is finished, what it no longer names is deleted, and a layer the
 * index names but that is gone is reported (never made up).
 */
export async function repairLayers(ctx: StoreContext, name: string, dryRun: boolean): Promise<Finding[]> {
  if (!layersNeedRepair(ctx, name)) return []
  const {layout} = ctx
  const findings: Finding[] = []
  let index
  try {
    index = readLayerIndex(layout, name)
  } catch (err) {
    return [{volume: name, path: layout.layerIndex(name), problem: (err as Error).message, action: 'left alone (inspect it)', repaired: false, status: 'reported'}]
  }
  if (index.pending) {
    findings.push(
      await repair(dryRun, {volume: name, path: layout.layers(name), problem: 'a snapshot operation (snapshot, rollback or snapshot rm) was cut off after it was decided', action: 'finished'}, () =>
        finishPending(ctx, name),
      ),
    )
  }
  for (const entry of index.layers) {
    const dir = layout.layer(name, entry.dir)
    if (!existsSync(dir)) findings.push({volume: name, path: dir, problem: `the layer of snapshot "${entry.tag}" is missing`, action: 'left alone (the view lacks it)', repaired: false, status: 'reported'})
  }
  const garbage = sweepLayers(ctx, name, {dryRun: true})
  if (garbage.length > 0 || (index.layers.length === 0 && lstatSync(layout.layers(name), {throwIfNoEntry: false}))) {
    findings.push(
      await repair(dryRun, {volume: name, path: layout.layers(name), problem: `${garbage.length} leftover layer director${garbage.length === 1 ? 'y' : 'ies'} of an interrupted or finished snapshot operation`, action: 'deleted'}, () =>
        sweepLayers(ctx, name),
      ),
    )
  }
  return findings
}
