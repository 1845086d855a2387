import fs from 'node:fs/promises'
import path from 'node:path'
import type {Writable} from 'node:stream'

import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {readOnlyOverlayMount} from '../kernel/overlay-options.js'
import {checkBase} from '../volume/base-check.js'
import type {VolumeStore} from '../volume/store.js'
import type {StoreContext} from '../volume/context.js'
import {existingDirs, historyOf, withSingleUpper} from '../snapshot/history.js'
import {type LayerPlan, planLayer} from './layer-plan.js'
import {writeLayer} from './layer-writer.js'
import {changesReadable, requireRoot} from './guards.js'
import {lockedScratch} from './scratch.js'

export interface ExportResult {
  volume: string
  /** The file written, for `--to`. */
  to?: string
  bytes: number
  /** Entries written: added and changed paths with the directories holding them, and deletions. */
  entries: number
  whiteouts: number
  opaques: number
  warnings: string[]
}

/**
 * The changes of `layers` (upper directories, newest first) over `below` (frozen layers under them,
 * newest first) on `base`, as one OCI layer tar on `out`. Several change layers are squashed into one
 * first, and the layers below are mounted read-only over the base to compare with (history.ts).
 * Content is read through a read-only overlay of every layer over the base, mounted at `scratch/view`
 * (the kernel resolves renamed directories; nothing can be written), and unmounted before returning.
 * `scratch` is the caller's: an empty directory, locked against sweeps, on any file system.
 */
export async function exportLayers(
  source: {layers: string[]; below?: string[]; base: string},
  out: Writable,
  context: {ctx: StoreContext; volume: string; scratch: string; signal?: AbortSignal},
): Promise<{plan: LayerPlan; bytes: number; warnings: string[]}> {
  const {OverlayXattrs} = await import('../kernel/overlay-xattrs.js')
  const below = source.below ?? []
  const history = {changes: source.layers, below}
  const plan = await withSingleUpper(context.ctx, context.volume, {history, base: source.base}, (single) => planLayer([single.upper], single.base, new OverlayXattrs()))
  const view = path.join(context.scratch, 'view')
  await fs.mkdir(view, {recursive: true, mode: 0o700})
  const mounter = await context.ctx.mounter()
  let mounted = false
  try {
    if (plan.entries.length > 0) {
      const lowers = [...(await existingDirs(source.layers)), ...below, source.base]
      if (lowers.length < 2) lowers.unshift(await emptyDir(context.scratch))
      await mounter.mount(readOnlyOverlayMount(`docker-on-top-export_${context.volume}`, lowers, view))
      mounted = true
    }
    const written = await writeLayer({dir: view, entries: plan.entries, whiteouts: plan.whiteouts, opaques: plan.opaques}, out, context.scratch, context.signal)
    return {plan, ...written}
  } finally {
    if (mounted) await mounter.unmount(view).catch(() => mounter.unmount(view, {detach: true}))
  }
}

async function emptyDir(scratch: string): Promise<string> {
  const empty = path.join(scratch, 'empty')
  await fs.mkdir(empty, {recursive: true})
  return empty
}

/**
 * `dot export`: the volume's changes as an OCI layer, to `out`: its whole history (every snapshot
 * layer and the upper layer) in one layer, or with `since` only what changed after that snapshot. Reads
 * the layers and the base only; on a mounted volume it works too, with a warning (the changes may move while they are read).
 */
export async function exportVolume(store: VolumeStore, name: string, out: Writable, options: {signal?: AbortSignal; to?: string; since?: string} = {}): Promise<ExportResult> {
  validateName(name)
  const meta = await readMetadata(store.layout.metadata(name), name)
  requireRoot('dot export')
  await checkBase(meta.base, store.root, name)
  await changesReadable(store, name, meta)
  const volume = await store.get(name)
  const warnings: string[] = []
  if (volume.mounted) warnings.push(`volume "${name}" is mounted: its changes may move while they are read, so the layer may be inconsistent`)
  const history = historyOf(store.layout, name, options.since)
  const result = await lockedScratch(store, `export-${name}`, async (scratch) =>
    exportLayers({layers: history.changes, below: history.below, base: meta.base}, out, {ctx: store.context, volume: name, scratch, signal: options.signal}),
  )
  const {plan} = result
  return {
    volume: name,
    ...(options.to ? {to: options.to} : {}),
    bytes: result.bytes,
    entries: plan.entries.length + plan.whiteouts.length + plan.opaques.length,
    whiteouts: plan.whiteouts.length,
    opaques: plan.opaques.length,
    warnings: [...warnings, ...result.warnings],
  }
}
