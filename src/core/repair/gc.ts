import {type Finding, reconcile} from './reconcile.js'
import {assertNothingPlanted} from '../disk/planted.js'
import {isDockerMountId, readRecords, writeRecord} from '../disk/records.js'
import type {StoreContext} from '../volume/context.js'
import {listVolumes} from '../volume/read.js'
import {teardown} from '../volume/teardown.js'
import {dockerVolumesInUse} from './docker-usage.js'

export interface GcOptions {
  /** Report only; change nothing. */
  dryRun?: boolean
  /** Also repair volumes whose mount records no container explains (dockerd lost their Unmount). */
  stale?: boolean
  /** Where to find dockerd (DOCKER_HOST); defaults to the process environment. */
  env?: NodeJS.ProcessEnv
}

export interface GcResult {
  findings: Finding[]
  /** Whether dockerd was asked which volumes its containers use, and what it said. */
  docker: {checked: boolean; host: string; containers?: number; reason?: string}
}

/**
 * `dot gc`: the start-up reconcile (see `reconcile`), then, when dockerd is reachable, the volumes it
 * no longer uses although they have records of its mounts: a dockerd killed with running containers
 * never sends their Unmounts (docs/plugin-protocol.md §9.5). Those are reported, and repaired only with `stale`:
 * their records are dropped and, if none is left, the overlay is unmounted (refused if it is busy).
 *
 * Records are read before dockerd is asked, and only those records are ever dropped: a container that
 * starts meanwhile mounts under a new ID, which this run never touches.
 */
export async function gc(ctx: StoreContext, options: GcOptions = {}): Promise<GcResult> {
  const dryRun = options.dryRun ?? false
  const findings = await reconcile(ctx, {dryRun})
  const snapshot = (await listVolumes(ctx))
    .map((volume) => ({name: volume.name, ids: Object.keys(volume.mounts).filter(isDockerMountId)}))
    .filter((volume) => volume.ids.length > 0)
  const usage = await dockerVolumesInUse(options.env)
  if (!usage.reachable) return {findings, docker: {checked: false, host: usage.host, reason: usage.reason}}
  for (const {name, ids} of snapshot) {
    if (usage.volumes.has(name)) continue
    findings.push(await staleFinding(ctx, name, ids, options))
  }
  return {findings, docker: {checked: true, host: usage.host, containers: usage.containers}}
}

async function staleFinding(ctx: StoreContext, name: string, ids: string[], options: GcOptions): Promise<Finding> {
  const finding = {
    volume: name,
    path: ctx.layout.activeMounts(name),
    problem: `${ids.length} mount record(s) of dockerd (${ids.map((id) => id.slice(0, 12)).join(', ')}) but no container uses the volume (dockerd lost the Unmount)`,
  }
  if (!options.stale) return {...finding, action: `left alone (dot gc --stale drops the records and unmounts)`, repaired: false, status: 'reported'}
  if (options.dryRun) return {...finding, action: 'would be records dropped and overlay unmounted', repaired: false, status: 'would-repair'}
  try {
    const action = await ctx.locks.withLock(name, async () => {
      assertNothingPlanted(ctx.layout, name)
      const records = readRecords(ctx.layout, name)
      for (const id of ids) if (records.has(id)) writeRecord(ctx.layout, name, id, 0)
      if ([...records.keys()].some((id) => !ids.includes(id))) return 'records dropped (other mounts remain: overlay kept)'
      await teardown(ctx, name, {detachIfBusy: false})
      return 'records dropped and overlay unmounted'
    })
    return {...finding, action, repaired: true, status: 'repaired'}
  } catch (err) {
    return {...finding, action: `repair failed: ${(err as Error).message}`, repaired: false, status: 'failed'}
  }
}
