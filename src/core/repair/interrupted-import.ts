import {closeSync, lstatSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {syncFileSystem} from '../changes/fs-calls.js'
import {COMMIT_JOURNAL} from '../changes/commit.js'
import {APPLY_JOURNAL, IMPORT_SCRATCH_PREFIX, readJournal, runApply} from '../changes/import.js'
import {tryLockDir} from '../kernel/flock.js'
import type {Layout} from '../disk/layout.js'
import type {StoreContext} from '../volume/context.js'
import type {Finding} from './finding.js'

/**
 * Start-up and `dot gc`: an import cut off while it applied its layer (its scratch directory still
 * holds `apply.json`) is finished, under the volume's lock, then its scratch directory deleted. Any
 * other import leftover is an extraction that never touched the volume: the `.tmp-*` sweep deletes it.
 * Returns undefined when `entryName` is none of this (the caller then sweeps it as usual). `dir`: where
 * the entry is, the root or a size-limited volume's limit/ (an import into it extracts there).
 */
export async function finishInterruptedImport(ctx: StoreContext, entryName: string, dryRun: boolean, dir = ctx.layout.root): Promise<Finding | undefined> {
  if (!entryName.startsWith(IMPORT_SCRATCH_PREFIX)) return undefined
  const full = path.join(dir, entryName)
  if (!lstatSync(path.join(full, APPLY_JOURNAL), {throwIfNoEntry: false})) return undefined
  let lock: number | undefined
  try {
    lock = tryLockDir(full)
  } catch {
    return undefined // finished and deleted meanwhile
  }
  if (lock === undefined) return undefined // an import is applying it right now
  try {
    const journal = readJournal(full)
    const finding = {volume: journal.volume, path: full, problem: 'an import cut off while applying its layer', action: 'finished applying the layer'}
    if (dryRun) return {...finding, action: `would be ${finding.action}`, repaired: false, status: 'would-repair'}
    try {
      await ctx.locks.withLock(journal.volume, async () => {
        const upper = ctx.layout.upper(journal.volume)
        runApply(full, upper, journal, ctx.crash)
        syncFileSystem(upper)
      })
      await fs.rm(full, {recursive: true, force: true})
      return {...finding, repaired: true, status: 'repaired'}
    } catch (err) {
      return {...finding, action: `${finding.action} failed: ${(err as Error).message}`, repaired: false, status: 'failed'}
    }
  } finally {
    closeSync(lock)
  }
}

/**
 * A commit cut off (or running): its volume shows what it showed, and its base is partly written.
 * Only the user can finish it (running the commit again), so it is reported, not repaired.
 */
export function cutOffCommit(layout: Layout, name: string): Finding | undefined {
  const journal = path.join(layout.volume(name), COMMIT_JOURNAL)
  if (!lstatSync(journal, {throwIfNoEntry: false})) return undefined
  return {volume: name, path: journal, problem: 'a commit of the volume was cut off (or is running): its base is partly written, the volume still shows its changes', action: `left alone (run dot commit ${name} again to complete it)`, repaired: false, status: 'reported'}
}
