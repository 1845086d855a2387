import {closeSync, readdirSync} from 'node:fs'
import path from 'node:path'

import {IMPORT_SCRATCH_PREFIX} from '../changes/import.js'
import {removeTree} from '../disk/deep-tree.js'
import type {Metadata} from '../disk/metadata.js'
import {detachLoop, loopDevicesUnder, mountedOn} from '../kernel/limit-fs.js'
import {tryLockDir} from '../kernel/flock.js'
import {readMountinfo} from '../kernel/mountinfo.js'
import type {StoreContext} from '../volume/context.js'
import {hasLimit, LIMIT_TRASH_PREFIX, releaseChangesFs} from '../volume/limit.js'
import {type Finding, repair} from './finding.js'
import {finishInterruptedImport} from './interrupted-import.js'

/** Images and tmpfs mounted on a `limit/` below `root` (mountpoint -> 1), for the sweep of scratch entries. */
export async function limitMountsUnder(root: string): Promise<Map<string, number>> {
  const prefix = root.endsWith('/') ? root : `${root}/`
  const found = new Map<string, number>()
  for (const entry of await readMountinfo()) {
    if (entry.fstype !== 'overlay' && entry.mountpoint.startsWith(prefix) && entry.mountpoint.endsWith('/limit')) found.set(entry.mountpoint, 1)
  }
  return found
}

/**
 * A volume's limit with no overlay on it. A tmpfs then exists only because a crash cut a first mount or
 * last unmount short: its changes are gone by definition (tmpfs=true), so it is unmounted. An image
 * stays mounted (the normal state, volume/limit.ts); what a volatile wipe or a reset cut off left in
 * its `.trash-*` entries is deleted.
 */
export async function reconcileLimit(ctx: StoreContext, name: string, meta: Metadata, records: number, dryRun: boolean): Promise<Finding[]> {
  const dir = ctx.layout.limit(name)
  if (!hasLimit(meta) || records > 0 || !mountedOn(dir)) return []
  if (meta.tmpfs) {
    return [await repair(dryRun, {volume: name, path: dir, problem: 'tmpfs with no overlay (a first mount or last unmount cut off)', action: 'unmounted'}, () =>
      releaseChangesFs(ctx, name, {detach: true}),
    )]
  }
  const findings: Finding[] = []
  for (const entry of readdirSync(dir).filter((e) => e.startsWith(LIMIT_TRASH_PREFIX))) {
    const full = path.join(dir, entry)
    findings.push(await repair(dryRun, {volume: name, path: full, problem: 'leftover of an interrupted volatile wipe or reset', action: 'deleted'}, () => removeTree(full)))
  }
  return findings
}

/**
 * Imports into a size-limited volume extract on its image (changes/import.ts): one cut off while it
 * applied is finished, an extraction nobody holds is deleted. Outside the volume's lock (the finish
 * takes it); an entry still flocked by its import is left alone.
 */
export async function sweepLimitImports(ctx: StoreContext, name: string, meta: Metadata, dryRun: boolean): Promise<Finding[]> {
  const dir = ctx.layout.limit(name)
  if (!hasLimit(meta) || !mountedOn(dir)) return []
  const findings: Finding[] = []
  for (const entry of readdirSync(dir).filter((e) => e.startsWith(IMPORT_SCRATCH_PREFIX))) {
    const finished = await finishInterruptedImport(ctx, entry, dryRun, dir)
    if (finished) {
      findings.push(finished)
      continue
    }
    const full = path.join(dir, entry)
    const lock = tryLockDir(full)
    if (lock === undefined) continue // an import is extracting into it
    try {
      findings.push(await repair(dryRun, {volume: name, path: full, problem: 'leftover of an interrupted import', action: 'deleted'}, () => removeTree(full)))
    } finally {
      closeSync(lock)
    }
  }
  return findings
}

/**
 * Loop devices backed by an image below the root that no mount uses. dot's own devices autoclear (they
 * go with their last user), so these come from elsewhere (a losetup by hand, an older build): detached.
 */
export async function releaseLeakedLoops(ctx: StoreContext, dryRun: boolean): Promise<Finding[]> {
  const loops = loopDevicesUnder(ctx.layout.root)
  if (loops.length === 0) return []
  const used = new Set((await readMountinfo()).map((entry) => entry.source))
  const findings: Finding[] = []
  for (const loop of loops) {
    if (used.has(loop.device)) continue
    findings.push(await repair(dryRun, {path: loop.file, problem: `loop device ${loop.device} attached to it with no mount using it`, action: 'detached'}, () => detachLoop(loop.device)))
  }
  return findings
}
