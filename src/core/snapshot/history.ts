import {closeSync, mkdirSync, rmSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {lowerLayerDirs, readLayerIndex, validateTag} from '../disk/layer-index.js'
import type {Layout} from '../disk/layout.js'
import {lockedScratch} from '../changes/scratch.js'
import {busy} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import {readOnlyOverlayMount} from '../kernel/overlay-options.js'
import type {StoreContext} from '../volume/context.js'
import {findTag} from './list.js'
import {newLayerDir} from './switch.js'
import {squashLayers} from './squash.js'

/**
 * A volume's history split at a snapshot: `changes` are the layers made after it (the upper layer,
 * then the frozen layers above the tag, newest first), `below` the layers at and under it (newest
 * first), which sit on the base. Without a tag every layer is a change and `below` is empty.
 */
export interface History {
  changes: string[]
  below: string[]
}

export function historyOf(layout: Layout, name: string, since?: string): History {
  const index = readLayerIndex(layout, name)
  const frozen = lowerLayerDirs(layout, name, index)
  if (since === undefined) return {changes: [layout.upper(name), ...frozen], below: []}
  const at = findTag(index.layers, name, validateTag(since))
  const above = index.layers.length - 1 - at
  return {changes: [layout.upper(name), ...frozen.slice(0, above)], below: frozen.slice(above)}
}

/**
 * Runs `task` with the history as one upper layer over one base directory, the form diff, export and
 * recover read: several change layers are squashed into a hard-linked copy under layers/ (flocked, so
 * the sweep leaves it alone while it is read), and the layers below a tag are mounted read-only over
 * the base in a scratch directory of the root (`mountIn`, swept with whatever it holds after a crash).
 * A volume without snapshots takes neither step: its upper layer over its base, as always.
 */
export async function withSingleUpper<T>(
  ctx: StoreContext,
  name: string,
  job: {history: History; base: string},
  task: (single: {upper: string; base: string}) => Promise<T>,
): Promise<T> {
  const {changes, below} = job.history
  let squashed: {dir: string; lock: number} | undefined
  try {
    let upper = changes[0]
    const present = await existingDirs(changes)
    if (present.length > 1) {
      const dir = ctx.layout.layer(name, newLayerDir('.squash-'))
      mkdirSync(dir, {mode: 0o700})
      const lock = tryLockDir(dir)
      if (lock === undefined) throw busy(`a concurrent sweep took ${dir}; try again`, {name})
      squashed = {dir, lock}
      squashLayers(present, path.join(dir, 'upper'))
      upper = path.join(dir, 'upper')
    } else if (present.length === 1) upper = present[0]
    if (below.length === 0) return await task({upper, base: job.base})
    return await withBelowView(ctx, name, [...below, job.base], (base) => task({upper: upper!, base}))
  } finally {
    if (squashed) {
      rmSync(squashed.dir, {recursive: true, force: true})
      closeSync(squashed.lock)
    }
  }
}

/** `lowers` (topmost first) mounted read-only in a flocked scratch directory of the root, for `task`. */
export async function withBelowView<T>(ctx: StoreContext, name: string, lowers: string[], task: (dir: string) => Promise<T>): Promise<T> {
  return lockedScratch(ctx, `history-${name}`, async (scratch) => {
    const mounter = await ctx.mounter()
    const target = path.join(scratch, 'below')
    await fs.mkdir(target, {mode: 0o700})
    await mounter.mount(readOnlyOverlayMount(`docker-on-top-history_${name}`, lowers, target))
    try {
      return await task(target)
    } finally {
      await mounter.unmount(target).catch(() => mounter.unmount(target, {detach: true}))
    }
  })
}

export async function existingDirs(dirs: string[]): Promise<string[]> {
  const present: string[] = []
  for (const dir of dirs) if ((await fs.stat(dir).catch(() => undefined))?.isDirectory()) present.push(dir)
  return present
}
