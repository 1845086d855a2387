import fs from 'node:fs/promises'
import path from 'node:path'
import type {Writable} from 'node:stream'

import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {readOnlyOverlayMount} from '../kernel/overlay-options.js'
import {checkBase} from '../volume/base-check.js'
import type {VolumeStore} from '../volume/store.js'
import type {Mounter} from '../kernel/mounter.js'
import {type LayerPlan, planLayer} from './layer-plan.js'
import {writeLayer} from './layer-writer.js'
import {requireRoot} from './guards.js'
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
 * The changes of `layers` (upper directories, newest first) over `base` as an OCI layer tar on `out`.
 * Content is read through a read-only overlay of the layers over the base, mounted at `scratch/view`
 * (the kernel resolves renamed directories; nothing can be written), and unmounted before returning.
 * `scratch` is the caller's: an empty directory, locked against sweeps, on any file system.
 */
export async function exportLayers(
  source: {layers: string[]; base: string},
  out: Writable,
  context: {mounter: Mounter; scratch: string; label: string; signal?: AbortSignal},
): Promise<{plan: LayerPlan; bytes: number; warnings: string[]}> {
  const {OverlayXattrs} = await import('../kernel/overlay-xattrs.js')
  const plan = await planLayer(source.layers, source.base, new OverlayXattrs())
  const view = path.join(context.scratch, 'view')
  await fs.mkdir(view, {recursive: true, mode: 0o700})
  let mounted = false
  try {
    if (plan.entries.length > 0) {
      await context.mounter.mount(readOnlyOverlayMount(`docker-on-top-export_${context.label}`, [...source.layers, source.base], view))
      mounted = true
    }
    const written = await writeLayer({dir: view, entries: plan.entries, whiteouts: plan.whiteouts, opaques: plan.opaques}, out, context.scratch, context.signal)
    return {plan, ...written}
  } finally {
    if (mounted) await context.mounter.unmount(view).catch(() => context.mounter.unmount(view, {detach: true}))
  }
}

/**
 * `dot export`: the volume's changes as an OCI layer, to `out`. Reads the upper layer and the base
 * only; on a mounted volume it works too, with a warning (the changes may move while they are read).
 */
export async function exportVolume(store: VolumeStore, name: string, out: Writable, options: {signal?: AbortSignal; to?: string} = {}): Promise<ExportResult> {
  validateName(name)
  const meta = await readMetadata(store.layout.metadata(name), name)
  requireRoot('dot export')
  await checkBase(meta.base, store.root, name)
  const volume = await store.get(name)
  const warnings: string[] = []
  if (volume.mounted) warnings.push(`volume "${name}" is mounted: its changes may move while they are read, so the layer may be inconsistent`)
  const upper = store.layout.upper(name)
  const layers = (await fs.stat(upper).catch(() => null))?.isDirectory() ? [upper] : []
  const result = await lockedScratch(store, `export-${name}`, async (scratch) => {
    if (layers.length === 0) {
      const empty = path.join(scratch, 'empty')
      await fs.mkdir(empty)
      layers.push(empty)
    }
    return exportLayers({layers, base: meta.base}, out, {mounter: await store.context.mounter(), scratch, label: name, signal: options.signal})
  })
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
