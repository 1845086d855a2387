import fs from 'node:fs/promises'
import path from 'node:path'

import type {StoreContext} from '../volume/context.js'
import {type Finding, repair} from './finding.js'

/** An older build's lock untouched this long belongs to a dead process (proper-lockfile refreshed live ones). */
const STALE_LOCK_MS = 30_000

export /**
 * Lock files and directories that older builds (proper-lockfile) kept in `.locks/`; volume locks are
 * flocks on the volume directories now. One untouched for STALE_LOCK_MS belongs to a dead process
 * (proper-lockfile refreshed live ones); the emptied directory goes too.
 */
async function clearOldLocks(ctx: StoreContext, dryRun: boolean): Promise<Finding[]> {
  const findings: Finding[] = []
  const dir = ctx.layout.oldLocks()
  // Only a real directory is swept: a link in its place is reported by `reconcile` and left alone.
  if (!(await fs.lstat(dir).then((s) => s.isDirectory(), () => false))) return findings
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return findings
  }
  for (const lockName of names) {
    const full = path.join(dir, lockName)
    const mtimeMs = await fs.lstat(full).then((s) => s.mtimeMs, () => undefined)
    if (mtimeMs === undefined || Date.now() - mtimeMs < STALE_LOCK_MS) continue
    findings.push(await repair(dryRun, {path: full, problem: 'stale lock left by a process that died', action: 'deleted'}, () => fs.rm(full, {recursive: true, force: true})))
  }
  if (!dryRun) await fs.rmdir(dir).catch(() => {}) // only once empty
  return findings
}
