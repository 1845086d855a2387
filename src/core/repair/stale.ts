import fs from 'node:fs/promises'

import {assertNothingPlanted} from '../disk/planted.js'
import {isDockerMountId, readRecords, writeRecord} from '../disk/records.js'
import type {StoreContext} from '../volume/context.js'
import {getVolume, listVolumes} from '../volume/read.js'
import {teardown} from '../volume/teardown.js'
import {type DockerUsage, dockerVolumesInUse} from './docker-usage.js'
import type {Finding} from './finding.js'
import {overlaysInUse} from './kernel-usage.js'

/** How long a new record is left alone: between an engine's Mount and its container's start, no namespace holds the overlay yet. */
export const DEFAULT_GRACE_MS = 5_000

/**
 * Only records with an engine's mount ID (64 hex digits: dockerd's and Podman's, isDockerMountId) are
 * judged: a record made by hand (`dot mount --id ...`) is no engine's, and may be in use with no mount
 * anywhere (a shell inside the mountpoint).
 */
export interface StaleOptions {
  dryRun?: boolean
  /** Repair (drop the records, unmount); otherwise report only. */
  stale?: boolean
  /** Judge only these volumes (all, when absent). */
  names?: string[]
  /** Records younger than this are left alone (default DEFAULT_GRACE_MS). */
  graceMs?: number
  /** Where to find dockerd (DOCKER_HOST), for extra evidence; defaults to the process environment. */
  env?: NodeJS.ProcessEnv
}

export interface StaleReport {
  findings: Finding[]
  kernel: {namespaces: number; unreadable: number}
  docker: {checked: boolean; host: string; containers?: number; reason?: string}
}

interface Candidate {
  name: string
  ids: string[]
  /** Age of the newest of those records, in ms. */
  youngestMs: number
}

/**
 * Volumes with engine mount records that no one uses: no mount namespace holds their overlay (read
 * from the kernel, whatever engine made the mounts), and dockerd, when it answers, knows no live
 * container on them. A dockerd killed with running containers never sends their Unmounts
 * (docs/plugin-protocol.md §9.5); this finds what it left once those containers are gone. Reported, and repaired
 * with `stale`: the records read here are dropped and, if none is left, the overlay is unmounted.
 *
 * Records are read before anyone is asked, and only those are ever dropped; under the volume's lock
 * the kernel is asked again, so a container that came up meanwhile keeps its mount.
 */
export async function staleFindings(ctx: StoreContext, options: StaleOptions = {}): Promise<StaleReport> {
  const candidates = await engineRecords(ctx, options.names)
  const docker = await dockerVolumesInUse(options.env)
  const report: StaleReport = {
    findings: [],
    kernel: {namespaces: 0, unreadable: 0},
    docker: docker.reachable ? {checked: true, host: docker.host, containers: docker.containers} : {checked: false, host: docker.host, reason: docker.reason},
  }
  if (candidates.length === 0) return report
  const kernel = await overlaysInUse(ctx.layout, candidates.map((c) => c.name))
  report.kernel = {namespaces: kernel.namespaces, unreadable: kernel.unreadable}
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS
  for (const candidate of candidates) {
    if (kernel.users.has(candidate.name) || dockerUses(docker, candidate.name)) continue
    report.findings.push(await judge(ctx, candidate, graceMs, options))
  }
  return report
}

function dockerUses(docker: DockerUsage, name: string): boolean {
  return docker.reachable && docker.volumes.has(name)
}

async function engineRecords(ctx: StoreContext, names: string[] | undefined): Promise<Candidate[]> {
  const volumes = names ? await Promise.all(names.map((name) => getVolume(ctx, name))) : await listVolumes(ctx)
  const candidates: Candidate[] = []
  for (const volume of volumes) {
    const ids = Object.keys(volume.mounts).filter(isDockerMountId)
    if (ids.length === 0) continue
    let youngestMs = Number.POSITIVE_INFINITY
    for (const id of ids) {
      const stat = await fs.stat(ctx.layout.activeMount(volume.name, id)).catch(() => undefined)
      if (stat) youngestMs = Math.min(youngestMs, Date.now() - stat.mtimeMs)
    }
    candidates.push({name: volume.name, ids, youngestMs})
  }
  return candidates
}

async function judge(ctx: StoreContext, {name, ids, youngestMs}: Candidate, graceMs: number, options: StaleOptions): Promise<Finding> {
  const finding = {
    volume: name,
    path: ctx.layout.activeMounts(name),
    problem: `${ids.length} mount record(s) of a container engine (${ids.map((id) => id.slice(0, 12)).join(', ')}) but no mount namespace holds the overlay and no container uses it (the engine lost the Unmount)`,
  }
  if (youngestMs < graceMs) {
    const seconds = Math.round(youngestMs / 1000)
    return {...finding, action: `left alone: mounted ${seconds} s ago, its container may still be starting (run gc again later)`, repaired: false, status: 'reported'}
  }
  if (!options.stale) return {...finding, action: `left alone (dot gc --stale drops the records and unmounts)`, repaired: false, status: 'reported'}
  if (options.dryRun) return {...finding, action: 'would be records dropped and overlay unmounted', repaired: false, status: 'would-repair'}
  try {
    const action = await ctx.locks.withLock(name, async () => {
      assertNothingPlanted(ctx.layout, name)
      if ((await overlaysInUse(ctx.layout, [name])).users.has(name)) return undefined
      const records = readRecords(ctx.layout, name)
      for (const id of ids) if (records.has(id)) writeRecord(ctx.layout, name, id, 0)
      if ([...records.keys()].some((id) => !ids.includes(id))) return 'records dropped (other mounts remain: overlay kept)'
      await teardown(ctx, name, {detachIfBusy: false})
      return 'records dropped and overlay unmounted'
    })
    if (!action) return {...finding, action: 'left alone: a container started using it meanwhile', repaired: false, status: 'reported'}
    return {...finding, action, repaired: true, status: 'repaired'}
  } catch (err) {
    return {...finding, action: `repair failed: ${(err as Error).message}`, repaired: false, status: 'failed'}
  }
}
