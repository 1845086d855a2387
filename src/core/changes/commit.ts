import {lstatSync, readdirSync, rmSync} from 'node:fs'
import path from 'node:path'

import {type Change, computeChanges} from '../diff/changes.js'
import {OverlayXattrs} from '../kernel/overlay-xattrs.js'
import {DotError, invalid} from '../errors.js'
import {readLayerIndex} from '../disk/layer-index.js'
import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {checkBase} from '../volume/base-check.js'
import {ensureChangesFs} from '../volume/limit.js'
import type {VolumeStore} from '../volume/store.js'
import {writeBaseBackup} from './commit-backup.js'
import {copyUpperIntoBase, deleteHidden, emptyUpper, resolveRedirects} from './commit-phases.js'
import {writeDurably} from '../disk/atomic-write.js'
import {refuseInUse, requireRoot} from './guards.js'
import {lstatIfAny} from './fs-calls.js'
import {lockedScratch} from './scratch.js'

/**
 * `dot commit`: writes a volume's changes into its base, then empties them. The only writer of a base.
 *
 * Crash protocol. `<volume>/commit.json` is written (fsynced) before the base is touched and removed
 * when done; its presence means "a commit of these changes is under way", so a re-run does not take
 * the commit's own writes for drift. The phases (commit-phases.ts), each followed by a syncfs:
 * 1. renamed directories get a copy of their source at their new path in the base, then lose their
 *    redirect; 2. what the upper hides is deleted from the base; 3. every upper entry is written into
 *    the base; 4. opaque marks are dropped, then the upper entries are deleted one by one.
 * At every step the upper layer over the base shows what it showed before (an entry leaves the upper
 * only after it is durable in the base), so a crash anywhere loses nothing, the volume can even be
 * mounted, and running the commit again completes it.
 */
export interface CommitOptions {
  dryRun?: boolean
  /** Write a layer that turns the new base back into the old one, before touching the base. */
  backup?: string
  /** Commit even when base entries changed after the volume's copies of them were made. */
  force?: boolean
  /** Asked with the change list before the base is written; false cancels. */
  confirm?: (changes: Change[]) => Promise<boolean>
  progress?: (done: number, total: number) => void
}

export interface CommitResult {
  volume: string
  base: string
  dryRun: boolean
  committed: boolean
  /** A commit cut off earlier that this run completed. */
  resumed: boolean
  changes: Change[]
  backup?: string
}

export const COMMIT_JOURNAL = 'commit.json'

export async function commitVolume(store: VolumeStore, name: string, options: CommitOptions = {}): Promise<CommitResult> {
  const {crash} = store.context
  validateName(name)
  requireRoot('dot commit')
  const meta = await readMetadata(store.layout.metadata(name), name)
  await checkBase(meta.base, store.root, name)
  refuseSnapshots(store, name)
  const base = meta.base
  return store.withVolumeLock(name, async () => {
    await refuseInUse(store, name)
    await ensureChangesFs(store.context, name, meta) // a tmpfs volume not in use: nothing to commit
    const upper = store.layout.upper(name)
    const journal = path.join(store.layout.volume(name), COMMIT_JOURNAL)
    const resumed = lstatSync(journal, {throwIfNoEntry: false}) !== undefined
    const xattrs = new OverlayXattrs()
    const {changes} = await computeChanges(upper, base, xattrs)
    const result: CommitResult = {volume: name, base, dryRun: options.dryRun ?? false, committed: false, resumed, changes}
    if (options.dryRun) return result
    if (!resumed && !options.force) refuseDrift(name, upper, base, changes)
    if (options.confirm && changes.length > 0 && !(await options.confirm(changes))) {
      throw new DotError('invalid', `commit of volume "${name}" cancelled; nothing was changed`, {name})
    }
    await lockedScratch(store, `commit-${name}`, async (scratch) => {
      if (options.backup && !resumed) {
        await writeBaseBackup(base, changes, options.backup, scratch)
        result.backup = options.backup
      }
      writeDurably(journal, JSON.stringify({startedAt: new Date().toISOString(), base}))
      if (!lstatSync(upper, {throwIfNoEntry: false})?.isDirectory()) return
      await resolveRedirects(upper, base, xattrs, scratch)
      crash('commit:after-redirects')
      deleteHidden(upper, base, xattrs)
      crash('commit:after-deletions')
      const total = options.progress ? sizeOf(upper) : 0
      let done = 0
      await copyUpperIntoBase(upper, base, scratch, (n) => options.progress?.((done += n), total))
      crash('commit:after-copy')
      emptyUpper(upper, () => crash('commit:entry-removed'))
    })
    rmSync(journal, {force: true})
    result.committed = true
    return result
  })
}

/**
 * A base entry the commit would replace or delete that changed (its ctime) after the upper entry
 * standing for it was made (its birth time; its ctime where the file system keeps no birth time):
 * someone wrote into the base under the volume, and the commit would silently undo that.
 */
function refuseDrift(name: string, upper: string, base: string, changes: Change[]): void {
  const drifted: string[] = []
  for (const change of changes) {
    if (change.kind === 'A') continue
    const ours = nearestUpperEntry(upper, change.path)
    const theirs = lstatIfAny(path.join(base, change.path))
    if (!ours || !theirs) continue
    const made = ours.birthtimeNs > 0n ? ours.birthtimeNs : ours.ctimeNs
    if (theirs.ctimeNs > made) drifted.push(change.path)
  }
  if (drifted.length === 0) return
  const shown = drifted.slice(0, 5).join(', ') + (drifted.length > 5 ? `, and ${drifted.length - 5} more` : '')
  throw new DotError('exists', `the base of volume "${name}" changed under its changes: ${shown} changed in the base after the volume's copy was made; committing would overwrite that. Check, then use --force to commit anyway`, {
    name,
    drifted,
  })
}

function nearestUpperEntry(upper: string, rel: string) {
  for (let p = rel; p !== '/' && p !== ''; p = path.posix.dirname(p)) {
    const st = lstatIfAny(path.join(upper, p))
    if (st) return st
  }
  return undefined
}

function sizeOf(dir: string): number {
  let total = 0
  const walk = (p: string) => {
    const st = lstatSync(p)
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name))
    else total += st.blocks * 512
  }
  walk(dir)
  return total
}

/** A commit writes one layer of changes into the base; snapshots are layers of their own (refused, clearly). */
function refuseSnapshots(store: VolumeStore, name: string): void {
  const {layers} = readLayerIndex(store.layout, name)
  if (layers.length === 0) return
  throw invalid(
    `volume "${name}" has ${layers.length} snapshot${layers.length === 1 ? '' : 's'} (${layers.map((l) => l.tag).join(', ')}); dot commit writes only a volume without snapshots into its base: merge them into the changes first with dot snapshot rm ${name} TAG (the view stays the same), then commit`,
    {name, snapshots: layers.map((l) => l.tag)},
  )
}
