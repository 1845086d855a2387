import {randomBytes} from 'node:crypto'
import {closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmSync} from 'node:fs'

import type {CrashPoint} from '../disk/crash-points.js'
import {type LayerIndex, readLayerIndex, writeLayerIndex} from '../disk/layer-index.js'
import {DotError} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import type {StoreContext} from '../volume/context.js'
import {copyDirAttrs, copyTimes} from './tree-clone.js'

/**
 * The one way the layers of a volume change (snapshot, rollback, snapshot rm), rename-based:
 * 1. whatever is new is built under layers/ with a name the index does not hold (garbage until then:
 *    a crash leaves it to the sweep);
 * 2. the index is replaced, durably and atomically: the operation happens at this instant. When the
 *    upper layer changes too, the index carries `pending` (upper/ becomes layers/<upperTo>, then
 *    layers/<fresh> becomes upper/), and whoever reads it next (the operation, a mount, start-up,
 *    `dot gc`) finishes those two renames;
 * 3. what the index no longer names is deleted.
 * Caller holds the volume's lock, and the volume is not mounted.
 */
export type LayerOperation = 'snapshot' | 'rollback' | 'snapshot-rm'

/** A new name for a directory under layers/. Dot-names are never a layer's (sweep them freely). */
export function newLayerDir(prefix = 'l-'): string {
  return `${prefix}${randomBytes(6).toString('hex')}`
}

/** A new empty upper layer under layers/, with the root attributes of `topFrom` (the view's top stays). */
export function prepareFresh(ctx: StoreContext, name: string, topFrom: string): string {
  const fresh = newLayerDir('.fresh-')
  const dir = ctx.layout.layer(name, fresh)
  mkdirSync(ctx.layout.layers(name), {recursive: true, mode: 0o700})
  mkdirSync(dir, {mode: 0o755})
  copyDirAttrs(topFrom, dir, {overlayMarks: false})
  copyTimes(topFrom, dir)
  return fresh
}

/**
 * Step 2: the index write that decides, then the renames it asks for. Step 3 is the caller's
 * `sweepLayers`, once it has let go of the old upper layer (its recover guard is a flock the sweep respects).
 */
export function switchLayers(ctx: StoreContext, name: string, index: LayerIndex, op: LayerOperation): void {
  writeLayerIndex(ctx.layout, name, index)
  ctx.crash(`${op}:after-index` as CrashPoint)
  finishPending(ctx, name, op)
}

/** Finishes a change of the upper layer that an index write decided (idempotent). Returns whether there was one. */
export function finishPending(ctx: StoreContext, name: string, op?: LayerOperation): boolean {
  const {layout} = ctx
  const index = readLayerIndex(layout, name)
  if (!index.pending) return false
  const {upperTo, fresh} = index.pending
  const upper = layout.upper(name)
  const freshDir = layout.layer(name, fresh)
  if (existsSync(freshDir)) {
    // upper/ is still the old one until fresh/ takes its place.
    if (lstatSync(upper, {throwIfNoEntry: false})) {
      const to = layout.layer(name, upperTo)
      if (existsSync(to)) throw new DotError('internal', `volume "${name}": both ${upper} and ${to} exist while the snapshot index says one becomes the other; left as is`, {name})
      renameSync(upper, to)
      syncDirs(layout.volume(name), layout.layers(name))
      if (op) ctx.crash(`${op}:after-upper-moved` as CrashPoint)
    }
    renameSync(freshDir, upper)
    syncDirs(layout.volume(name), layout.layers(name))
    if (op) ctx.crash(`${op}:after-fresh-in` as CrashPoint)
  }
  // The work dir may hold leftovers of the old upper (a copy-up cut short); the next mount makes it again.
  rmSync(layout.workdir(name), {recursive: true, force: true})
  writeLayerIndex(layout, name, {layers: index.layers})
  return true
}

/**
 * Deletes what layers/ holds and the index does not name: layers built by an operation that did not
 * reach its index write, layers dropped by one that did. An entry flocked by another process (a diff
 * reading a merged copy) is skipped. Returns the paths deleted.
 */
export function sweepLayers(ctx: StoreContext, name: string, options: {dryRun?: boolean} = {}): string[] {
  const {layout} = ctx
  const index = readLayerIndex(layout, name)
  if (index.pending) return []
  let entries: string[]
  try {
    entries = readdirSync(layout.layers(name))
  } catch {
    return []
  }
  const keep = new Set(['index.json', ...index.layers.map((entry) => entry.dir)])
  const swept: string[] = []
  for (const entry of entries) {
    if (keep.has(entry)) continue
    const full = layout.layer(name, entry)
    const lock = lstatSync(full).isDirectory() ? tryLockDir(full) : -1
    if (lock === undefined) continue // in use by its maker
    try {
      if (!options.dryRun) rmSync(full, {recursive: true, force: true})
      swept.push(full)
    } finally {
      if (lock >= 0) closeSync(lock)
    }
  }
  if (index.layers.length === 0 && !options.dryRun) {
    // No snapshot left: back to the Go original's layout.
    rmSync(layout.layers(name), {recursive: true, force: true})
  }
  return swept
}

function syncDirs(...dirs: string[]): void {
  for (const dir of dirs) {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  }
}
