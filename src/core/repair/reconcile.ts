import fs from 'node:fs/promises'
import path from 'node:path'

import {OLD_LOCKS_DIR, SCRATCH_PREFIXES} from '../disk/layout.js'
import {type ReadMetadata, readVolumeMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {plantedEntry} from '../disk/planted.js'
import {oddRecordEntries} from '../disk/record-file.js'
import {deleteRecordTempFile, dropRecords, hasNoRecordFiles, listRecordIds, recordTempFiles} from '../disk/records.js'
import {DotError, errnoCode} from '../errors.js'
import {overlayMountedOn, overlayMountsUnder} from '../kernel/overlays.js'
import type {StoreContext} from '../volume/context.js'
import {teardown} from '../volume/teardown.js'
import {type Finding, repair} from './finding.js'
import {restoreLostMetadata} from './lost-metadata.js'
import {clearOldLocks} from './old-locks.js'
import {cutOffCommit, finishInterruptedImport} from './interrupted-import.js'
import {hasLimit} from '../volume/limit.js'
import {limitMountsUnder, reconcileLimit, releaseLeakedLoops, sweepLimitImports} from './limit.js'
import {sweepScratch} from './scratch.js'
import {layersNeedRepair, repairLayers} from '../snapshot/repair.js'

export type {Finding, FindingStatus} from './finding.js'

export interface ReconcileOptions {
  /** Report only; change nothing. */
  dryRun?: boolean
}

/**
 * Brings the root back to the invariants of docs/rules.md after crashes and reboots: records without an
 * overlay are dropped, an overlay without records is unmounted, scratch entries nobody holds are
 * deleted, stale lock files of older builds are cleared. A metadata.json lost to a power cut is rewritten
 * from its xattr copy; volume directories whose metadata cannot be read are reported, never deleted. Each volume is repaired under its lock, so this is safe to run
 * while `dot serve` works.
 */
export async function reconcile(ctx: StoreContext, options: ReconcileOptions = {}): Promise<Finding[]> {
  const findings: Finding[] = []
  const dryRun = options.dryRun ?? false
  const {layout} = ctx
  let entries
  try {
    entries = await fs.readdir(layout.root, {withFileTypes: true})
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return findings
    throw err
  }
  const overlays = await overlayMountsUnder(layout.root)
  // A scratch entry's sweep unmounts what is mounted inside it: overlays and limits' images and tmpfs alike.
  const mountsInside = new Map([...overlays, ...(await limitMountsUnder(layout.root))])

  let seen = 0
  for (const entry of entries) {
    // The per-volume checks are synchronous (see looksClean): yield now and then, so that `dot serve`
    // answers requests while it reconciles a large root.
    if (++seen % 64 === 0) await new Promise((resolve) => setImmediate(resolve))
    const full = path.join(layout.root, entry.name)
    if (entry.isSymbolicLink()) {
      // Never followed (disk/planted.ts): a scratch entry, .locks or a volume replaced by a link is only shown.
      findings.push({path: full, problem: 'a symbolic link inside the root (docker-on-top never makes one, nor follows it)', action: 'left alone (remove it by hand)', repaired: false, status: 'reported'})
      continue
    }
    if (SCRATCH_PREFIXES.some((prefix) => entry.name.startsWith(prefix))) {
      const finding = (await finishInterruptedImport(ctx, entry.name, dryRun)) ?? (await sweepScratch(ctx, entry.name, mountsInside, dryRun))
      if (finding) findings.push(finding)
      continue
    }
    if (entry.name === OLD_LOCKS_DIR || !entry.isDirectory()) continue
    let name: string
    try {
      name = validateName(entry.name)
    } catch {
      findings.push({path: full, problem: 'not a docker-on-top volume (invalid name)', action: 'left alone', repaired: false, status: 'reported'})
      continue
    }
    findings.push(...(await reconcileVolume(ctx, name, overlays, dryRun)))
  }
  findings.push(...(await clearOldLocks(ctx, dryRun)))
  findings.push(...(await releaseLeakedLoops(ctx, dryRun)))
  return findings
}

/** The volume's metadata for its repair, or the finding that leaves it alone (a planted link, no readable metadata). */
function metadataForRepair(ctx: StoreContext, name: string): ReadMetadata | Finding {
  const {layout} = ctx
  const planted = plantedEntry(layout, name)
  if (planted) {
    return {volume: name, path: planted, problem: 'a symbolic link where docker-on-top keeps its own entry (never followed)', action: 'left alone (replace or remove it by hand)', repaired: false, status: 'reported'}
  }
  try {
    // No logger: the rewrite (restoreLostMetadata) is this volume's finding, the one line its loss needs.
    return readVolumeMetadata(layout.metadata(name), name)
  } catch (err) {
    const problem = err instanceof DotError && err.code === 'not-found' ? 'volume directory without metadata.json' : `unreadable metadata: ${(err as Error).message}`
    return {volume: name, path: layout.volume(name), problem, action: 'left alone (inspect it, or dot rm --force)', repaired: false, status: 'reported'}
  }
}

async function reconcileVolume(ctx: StoreContext, name: string, overlays: Map<string, number>, dryRun: boolean): Promise<Finding[]> {
  const {layout} = ctx
  const findings: Finding[] = []
  const read = metadataForRepair(ctx, name)
  if ('problem' in read) return [read]
  const {meta} = read
  if (read.fromCopy !== undefined) findings.push(await restoreLostMetadata(ctx, name, dryRun))
  const commit = cutOffCommit(layout, name)
  if (commit) findings.push(commit)
  findings.push(...(await sweepLimitImports(ctx, name, meta, dryRun)))
  const check = async () => {
    // Planted meanwhile: the lock was taken on a real directory, but its entries are checked again.
    if (plantedEntry(layout, name)) return
    // Not a record, and not ours to delete (a FIFO, a directory someone put there): reported, and the
    // volume is left as it is until it is moved away (its mounts and unmounts refuse it meanwhile).
    const odd = oddRecordEntries(layout.activeMounts(name))
    for (const entry of odd) {
      findings.push({volume: name, path: entry.path, problem: `mount record is ${entry.kind}, not a regular file`, action: 'left alone (move it away)', repaired: false, status: 'reported'})
    }
    if (odd.length > 0) return
    const ids = listRecordIds(layout, name)
    const stacked = (await overlayMountsUnder(layout.root)).get(layout.mountpoint(name)) ?? 0
    const mounted = stacked > 0
    if (ids.length > 0 && !mounted) {
      findings.push(await repair(dryRun, {volume: name, path: layout.activeMounts(name), problem: `${ids.length} mount record(s) (${ids.join(', ')}) but no overlay mounted`, action: 'records dropped'}, () =>
        dropRecords(layout, name),
      ))
    }
    if (ids.length === 0 && mounted) {
      findings.push(await repair(dryRun, {volume: name, path: layout.mountpoint(name), problem: 'overlay mounted with no mount records', action: 'unmounted'}, () =>
        // Never detach: a busy overlay detached here would live on beside the next mount's overlay on
        // the same upper (docs/plugin-protocol.md §9.16). Left mounted it is harmless, reused or unmounted later.
        teardown(ctx, name, {detachIfBusy: false}),
      ))
      if (!overlayMountedOn(layout.mountpoint(name))) findings.push(...(await reconcileLimit(ctx, name, meta, 0, dryRun)))
      return
    }
    if (stacked > 1) {
      // Two overlays on one upper layer is undefined behaviour (overlayfs only warns, docs/plugin-protocol.md §9.16),
      // and containers may hold either one: only stopping them is safe, which is not gc's call.
      findings.push({volume: name, path: layout.mountpoint(name), problem: `${stacked} overlays stacked on the mountpoint (a double mount)`, action: 'left alone (stop the containers using the volume, then run dot gc)', repaired: false, status: 'reported'})
    }
    if (mounted) return
    findings.push(...(await repairLayers(ctx, name, dryRun)))
    findings.push(...(await reconcileLimit(ctx, name, meta, ids.length, dryRun)))
    // workdir/ and mountpoint/ of an idle volume are kept for its next mount (unmount.ts): not garbage.
    for (const temp of recordTempFiles(layout, name)) {
      findings.push(await repair(dryRun, {volume: name, path: temp, problem: 'temp file of an interrupted record write', action: 'deleted'}, () => deleteRecordTempFile(temp)))
    }
  }
  if (looksClean(ctx, name, overlays) && !hasLimit(meta)) return findings // the common case, checked without the lock
  if (dryRun) await check()
  else await ctx.locks.withLock(name, check)
  return findings
}

/**
 * Idle with nothing left over: no records, no overlay, no temp files. One synchronous readdir, as
 * start-up runs this for every volume. Anything unexpected is "not clean": the full check under the
 * lock sorts it out.
 */
function looksClean(ctx: StoreContext, name: string, overlays: Map<string, number>): boolean {
  const {layout} = ctx
  if (overlays.has(layout.mountpoint(name))) return false
  // Any entry is a record (an ID) or the temp file of an interrupted record write.
  return hasNoRecordFiles(layout, name) && !layersNeedRepair(ctx, name)
}

