import fs from 'node:fs/promises'

import {gc} from '../repair/gc.js'
import type {VolumeStore} from '../volume/store.js'
import {type Check, check} from './check.js'

/** What `dot gc --dry-run` would repair or report: crash leftovers, stale mounts, unreadable volumes. */
export async function staleStateCheck(store: VolumeStore, env: NodeJS.ProcessEnv): Promise<Check> {
  const {findings} = await gc(store.context, {dryRun: true, env})
  if (findings.length === 0) return check('stale-state', 'ok', 'dot gc --dry-run finds nothing to repair')
  const shown = findings
    .slice(0, 3)
    .map((f) => `${f.volume ? `${f.volume}: ` : ''}${f.problem} (${f.path})`)
    .join('; ')
  const more = findings.length > 3 ? `; and ${findings.length - 3} more` : ''
  const stale = findings.some((f) => f.action.includes('--stale'))
  return check('stale-state', 'warn', `dot gc --dry-run finds ${findings.length} thing(s): ${shown}${more}`, `dot gc${stale ? ' --stale' : ''} (dot gc --dry-run lists them all)`)
}

/** Volumes whose base is gone: their next mount fails, and `dot recover` has only the changes. */
export async function missingBasesCheck(store: VolumeStore): Promise<Check> {
  const volumes = await store.list()
  const missing: string[] = []
  for (const volume of volumes) {
    const stat = await fs.stat(volume.base).catch(() => undefined)
    if (!stat?.isDirectory()) missing.push(`${volume.name} (${volume.base})`)
  }
  if (missing.length === 0) return check('bases', 'ok', `the bases of all ${volumes.length} volume(s) exist`)
  return check('bases', 'warn', `${missing.length} volume(s) whose base is gone, so their next mount fails: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`, 'restore the base directory, or salvage the changes (dot recover NAME --changes-only --to DIR) and dot rm NAME')
}
