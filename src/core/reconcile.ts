import {closeSync, readdirSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {DotError, errnoCode} from './errors.js'
import {OLD_LOCKS_DIR, SCRATCH_PREFIXES} from './layout.js'
import {readMetadata} from './metadata.js'
import {readMountinfo} from './mountinfo.js'
import {validateName} from './names.js'
import {listRecordIds} from './records.js'
import {RECOVER_SCRATCH_PREFIX, SCRATCH_LOCK, SCRATCH_LOCK_STALE_MS} from './recover/merged-view.js'
import type {VolumeStore} from './store.js'

/** One thing start-up or `dot gc` found out of order, and what was (or, with dryRun, would be) done. */
export interface Finding {
  /** The volume concerned, when there is one. */
  volume?: string
  path: string
  problem: string
  action: string
  /** Whether the action was carried out (false under dryRun, or for report-only findings). */
  repaired: boolean
  /**
   * `repaired`; `would-repair` under dryRun; `failed` when the repair was tried and failed; `reported`
   * for what is left alone on purpose (unreadable metadata, foreign directories): for an admin to see.
   */
  status?: FindingStatus
}

export type FindingStatus = 'repaired' | 'would-repair' | 'failed' | 'reported'

export interface ReconcileOptions {
  /** Report only; change nothing. */
  dryRun?: boolean
}

/** An older build's lock untouched this long belongs to a dead process (proper-lockfile refreshed live ones). */
const STALE_LOCK_MS = 30_000

/**
 * Brings the root back to the invariants of DESIGN.md §4 after crashes and reboots: records without an
 * overlay are dropped, an overlay without records is unmounted, scratch entries are deleted, stale
 * locks of older builds are cleared. Volume directories whose metadata cannot be
 * read are reported, never deleted. Each volume is repaired under its lock, so this is safe to run
 * while `dot serve` works.
 */
export async function reconcile(store: VolumeStore, options: ReconcileOptions = {}): Promise<Finding[]> {
  const findings: Finding[] = []
  const dryRun = options.dryRun ?? false
  const {layout} = store
  let entries
  try {
    entries = await fs.readdir(layout.root, {withFileTypes: true})
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return findings
    throw err
  }
  const overlays = await overlaysUnder(layout.root)

  let seen = 0
  for (const entry of entries) {
    // The per-volume checks are synchronous (see looksClean): yield now and then, so that `dot serve`
    // answers requests while it reconciles 10,000 volumes.
    if (++seen % 64 === 0) await new Promise((resolve) => setImmediate(resolve))
    const full = path.join(layout.root, entry.name)
    if (SCRATCH_PREFIXES.some((prefix) => entry.name.startsWith(prefix))) {
      const finding = await sweepScratch(store, entry.name, overlays, dryRun)
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
    findings.push(...(await reconcileVolume(store, name, overlays, dryRun)))
  }
  findings.push(...(await clearOldLocks(store, dryRun)))
  return findings
}

/**
 * One scratch entry of the root. A recover's (`.tmp-recover-*`, with a lock inside) is left alone
 * while its lock is fresh: that recover is running. A create's `.tmp-<name>-<rand>` is swept holding
 * its flock, which the create holds from its mkdir until it renamed the entry into place: a create
 * running in another process is skipped, never cut short. Trash is committed garbage: deleted as is.
 * Overlays mounted inside (a recover's view) are detached first: never delete through a mount.
 */
async function sweepScratch(store: VolumeStore, entryName: string, overlays: Map<string, number>, dryRun: boolean): Promise<Finding | undefined> {
  const full = path.join(store.layout.root, entryName)
  const lockMtime = await fs.stat(path.join(full, SCRATCH_LOCK)).then((s) => s.mtimeMs, () => undefined)
  if (lockMtime !== undefined && Date.now() - lockMtime < SCRATCH_LOCK_STALE_MS) return undefined
  const recovering = entryName.startsWith(RECOVER_SCRATCH_PREFIX) && (lockMtime !== undefined || hasOverlayInside(full, overlays))
  const what = recovering ? 'an interrupted recover' : entryName.startsWith('.tmp-') ? 'an interrupted create' : 'an interrupted delete or volatile wipe'
  const sweep = async () => {
    await unmountInside(store, full, overlays)
    await fs.rm(full, {recursive: true, force: true})
  }
  const creating = entryName.startsWith('.tmp-') && !recovering
  const volume = creating ? scratchVolumeName(entryName) : undefined
  let lock: number | undefined
  if (creating) {
    try {
      lock = store.tryLockDir(full)
    } catch {
      return undefined // gone meanwhile: renamed into place, or swept by another gc
    }
    if (lock === undefined) return undefined // a create is building it
  }
  try {
    return await repair(dryRun, {...(volume ? {volume} : {}), path: full, problem: `leftover of ${what}`, action: 'deleted'}, sweep)
  } finally {
    if (lock !== undefined) closeSync(lock)
  }
}

/** `.tmp-<name>-<rand>` -> name (rand is base 36, without "-"); undefined if that is no valid name. */
function scratchVolumeName(entryName: string): string | undefined {
  const body = entryName.slice('.tmp-'.length, entryName.lastIndexOf('-'))
  try {
    return validateName(body)
  } catch {
    return undefined
  }
}

function hasOverlayInside(dir: string, overlays: Map<string, number>): boolean {
  return [...overlays.keys()].some((mountpoint) => mountpoint.startsWith(dir + '/'))
}

async function reconcileVolume(store: VolumeStore, name: string, overlays: Map<string, number>, dryRun: boolean): Promise<Finding[]> {
  const {layout} = store
  const findings: Finding[] = []
  try {
    await readMetadata(layout.metadata(name), name)
  } catch (err) {
    const problem = err instanceof DotError && err.code === 'not-found' ? 'volume directory without metadata.json' : `unreadable metadata: ${(err as Error).message}`
    return [{volume: name, path: layout.volume(name), problem, action: 'left alone (inspect it, or dot rm --force)', repaired: false, status: 'reported'}]
  }
  const check = async () => {
    const ids = await listRecordIds(layout, name)
    const stacked = (await store.overlayMounts()).get(layout.mountpoint(name)) ?? 0
    const mounted = stacked > 0
    if (ids.length > 0 && !mounted) {
      findings.push(await repair(dryRun, {volume: name, path: layout.activeMounts(name), problem: `${ids.length} mount record(s) (${ids.join(', ')}) but no overlay mounted`, action: 'records dropped'}, () =>
        fs.rm(layout.activeMounts(name), {recursive: true, force: true}).then(() => fs.mkdir(layout.activeMounts(name), {mode: 0o755})),
      ))
    }
    if (ids.length === 0 && mounted) {
      findings.push(await repair(dryRun, {volume: name, path: layout.mountpoint(name), problem: 'overlay mounted with no mount records', action: 'unmounted'}, () =>
        // Never detach: a busy overlay detached here would live on beside the next mount's overlay on
        // the same upper (PROTOCOL.md §9.16). Left mounted it is harmless, reused or unmounted later.
        store.teardown(name, {detachIfBusy: false}),
      ))
      return
    }
    if (stacked > 1) {
      // Two overlays on one upper layer is undefined behaviour (overlayfs only warns, PROTOCOL.md §9.16),
      // and containers may hold either one: only stopping them is safe, which is not gc's call.
      findings.push({volume: name, path: layout.mountpoint(name), problem: `${stacked} overlays stacked on the mountpoint (a double mount)`, action: 'left alone (stop the containers using the volume, then run dot gc)', repaired: false, status: 'reported'})
    }
    if (mounted) return
    // workdir/ and mountpoint/ of an idle volume are kept for its next mount (store.unmount): not garbage.
    for (const temp of await tempFiles(layout.activeMounts(name))) {
      findings.push(await repair(dryRun, {volume: name, path: temp, problem: 'temp file of an interrupted record write', action: 'deleted'}, () => fs.rm(temp, {force: true})))
    }
    for (const temp of await tempFiles(layout.volume(name))) {
      findings.push(await repair(dryRun, {volume: name, path: temp, problem: 'temp file of an interrupted metadata write', action: 'deleted'}, () => fs.rm(temp, {force: true})))
    }
  }
  if (await looksClean(store, name, overlays)) return findings // the common case, checked without the lock
  if (dryRun) await check()
  else await store.withVolumeLock(name, check)
  return findings
}

/**
 * Idle with nothing left over: no records, no overlay, no temp files.
 * Two synchronous readdirs (a few µs each), since start-up runs this for every volume: six async calls
 * per volume made start-up with 10,000 volumes take ~5 s. Anything unexpected is "not clean": the
 * full check under the lock sorts it out.
 */
async function looksClean(store: VolumeStore, name: string, overlays: Map<string, number>): Promise<boolean> {
  const {layout} = store
  if (overlays.has(layout.mountpoint(name))) return false
  try {
    const entries = readdirSync(layout.volume(name))
    if (entries.some((entry) => entry.startsWith('.'))) return false
  } catch {
    return false
  }
  try {
    // Any entry is a record (an ID) or the temp file of an interrupted record write.
    return readdirSync(layout.activeMounts(name)).length === 0
  } catch (err) {
    return errnoCode(err) === 'ENOENT'
  }
}

/**
 * Lock files and directories that older builds (proper-lockfile) kept in `.locks/`; volume locks are
 * flocks on the volume directories now. One untouched for STALE_LOCK_MS belongs to a dead process
 * (proper-lockfile refreshed live ones); the emptied directory goes too.
 */
async function clearOldLocks(store: VolumeStore, dryRun: boolean): Promise<Finding[]> {
  const findings: Finding[] = []
  const dir = store.layout.oldLocks()
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return findings
  }
  for (const lockName of names) {
    const full = path.join(dir, lockName)
    const mtimeMs = await fs.stat(full).then((s) => s.mtimeMs, () => undefined)
    if (mtimeMs === undefined || Date.now() - mtimeMs < STALE_LOCK_MS) continue
    findings.push(await repair(dryRun, {path: full, problem: 'stale lock left by a process that died', action: 'deleted'}, () => fs.rm(full, {recursive: true, force: true})))
  }
  if (!dryRun) await fs.rmdir(dir).catch(() => {}) // only once empty
  return findings
}

/** Our overlays (and any overlay) mounted below the root: mountpoint -> count. */
async function overlaysUnder(root: string): Promise<Map<string, number>> {
  const result = new Map<string, number>()
  for (const entry of await readMountinfo()) {
    if (entry.fstype === 'overlay' && entry.mountpoint.startsWith(root + '/')) {
      result.set(entry.mountpoint, (result.get(entry.mountpoint) ?? 0) + 1)
    }
  }
  return result
}

/** Detaches overlays mounted inside a scratch directory before it is deleted (never delete through a mount). */
async function unmountInside(store: VolumeStore, dir: string, overlays: Map<string, number>): Promise<void> {
  for (const mountpoint of overlays.keys()) {
    if (mountpoint.startsWith(dir + '/')) await (await store.mounter()).unmount(mountpoint, {detach: true})
  }
}

async function tempFiles(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).filter((n) => n.startsWith('.')).map((n) => path.join(dir, n))
  } catch {
    return []
  }
}

async function repair(
  dryRun: boolean,
  finding: Omit<Finding, 'repaired'>,
  action: () => Promise<unknown>,
): Promise<Finding> {
  if (dryRun) return {...finding, action: `would be ${finding.action}`, repaired: false, status: 'would-repair'}
  try {
    await action()
    return {...finding, repaired: true, status: 'repaired'}
  } catch (err) {
    return {...finding, action: `${finding.action} failed: ${(err as Error).message}`, repaired: false, status: 'failed'}
  }
}
