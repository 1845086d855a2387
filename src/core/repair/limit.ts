import type {Metadata} from '../disk/metadata.js'
import {detachLoop, loopDevicesUnder, mountedOn} from '../kernel/limit-fs.js'
import {readMountinfo} from '../kernel/mountinfo.js'
import type {StoreContext} from '../volume/context.js'
import {releaseChangesFs} from '../volume/limit.js'
import {type Finding, repair} from './finding.js'

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
 * A tmpfs volume with no overlay and no record keeps a tmpfs only when a crash cut its first mount or
 * last unmount short: its changes are gone by definition (tmpfs=true), so it is unmounted. An image
 * mounted without an overlay is the normal state of a size-limited volume (volume/limit.ts).
 */
export async function reconcileLimit(ctx: StoreContext, name: string, meta: Metadata, records: number, dryRun: boolean): Promise<Finding | undefined> {
  const dir = ctx.layout.limit(name)
  if (!meta.tmpfs || records > 0 || !mountedOn(dir)) return undefined
  return repair(dryRun, {volume: name, path: dir, problem: 'tmpfs with no overlay (a first mount or last unmount cut off)', action: 'unmounted'}, () =>
    releaseChangesFs(ctx, name, {detach: true}),
  )
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
