import {closeSync, renameSync, unlinkSync} from 'node:fs'
import path from 'node:path'

import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {assertNothingPlanted} from '../disk/planted.js'
import {NotARecordError} from '../disk/record-file.js'
import {dropRecords, isDockerMountId, readRecords} from '../disk/records.js'
import {errnoCode, inUse, invalid} from '../errors.js'
import {waitForRecovers} from '../recover/upper-guard.js'
import {overlaysInUse} from '../repair/kernel-usage.js'
import type {StoreContext} from './context.js'
import {releaseChangesFs} from './limit.js'
import {teardown} from './teardown.js'

/**
 * Removes a volume and its changes. Refused while mount records exist unless `force`, which unmounts
 * (lazily if busy) first. The directory is renamed to `.trash-*` before it is deleted, so a crash
 * mid-delete leaves no half-volume.
 *
 * The rule for a Remove through the plugin (`byDocker`): dockerd sends Remove only once no container
 * of its own references the volume, so records of dockerd's mount IDs (64 hex digits) are stale by its
 * word (an Unmount that failed half way, or one it never sent) and do not refuse it. They are dropped
 * as far as they can be (one that cannot be, EPERM, goes with the trash, for `dot gc`), and the
 * overlay is unmounted, never detached: a view still busy on the host refuses the Remove (busy). Its
 * word covers only its own containers: while the kernel shows another mount namespace holding the
 * overlay (a Podman container, say: issue 14), the Remove is refused as in use.
 * Records of any other ID (`manual`, made by `dot mount`) refuse it, as every record refuses `dot rm`.
 */
export async function removeVolume(ctx: StoreContext, name: string, options: {force?: boolean; byDocker?: boolean} = {}): Promise<void> {
  validateName(name)
  const {layout} = ctx
  await ctx.locks.withLock(name, async () => {
    assertNothingPlanted(layout, name)
    const volumeDir = layout.volume(name) // exists: the lock is taken on it
    // Missing or garbage metadata alike: the directory may hold someone's changes we cannot describe,
    // so it goes only when the user insists.
    let readable = true
    try {
      readMetadata(layout.metadata(name), name)
    } catch {
      readable = false
    }
    if (!readable && !options.force) {
      throw invalid(`volume "${name}" has no readable metadata; inspect ${volumeDir} and use --force to delete it`, {name})
    }
    let records: Map<string, number>
    try {
      records = readRecords(layout, name)
    } catch (err) {
      // A record that is no file is refused, naming it; --force deletes the volume anyway.
      if (!(err instanceof NotARecordError && options.force)) throw err
      records = new Map([[path.basename(err.file), 1]])
    }
    const vouched = !options.force && options.byDocker === true && records.size > 0
    const ids = [...records.keys()].filter((id) => !(vouched && isDockerMountId(id)))
    if (ids.length > 0 && !options.force) {
      throw inUse(`volume "${name}" is in use (${ids.length} active mount${ids.length === 1 ? '' : 's'}: ${ids.join(', ')}); unmount it first, or force`, {
        name,
        mounts: Object.fromEntries(records),
      })
    }
    if (vouched) await refuseIfHeldElsewhere(ctx, name)
    // Drop the records before unmounting (records mean use), then make sure nothing is mounted inside
    // the directory about to be deleted: deleting through a live overlay would write whiteouts. The
    // mount-only directories go with the rest, in the background deletion of the trash.
    if (vouched) dropVouchedRecords(ctx, name, [...records.keys()])
    else if (records.size > 0) dropRecords(layout, name, {recreate: false})
    await teardown(ctx, name, {detachIfBusy: !vouched, keepDirs: true})
    ctx.crash('remove:after-unmount')
    // The limit's image or tmpfs, which a size-limited volume keeps mounted while it exists (limit.ts).
    await releaseChangesFs(ctx, name, {detach: !vouched})
    ctx.crash('remove:after-limit-unmount')
    const trash = layout.scratch('trash', name)
    const guard = await waitForRecovers(layout.upper(name), name, 'removing it') // a recover copying it ends first
    try {
      renameSync(volumeDir, trash)
    } finally {
      if (guard !== undefined) closeSync(guard)
    }
    ctx.crash('remove:after-rename')
    ctx.metadata.forget(layout.metadata(name))
    // The rename committed the removal. Deleting a large upper can outlast dockerd's Remove timeout:
    // it runs after the answer; `close` (and gc, after a crash) finishes it.
    ctx.background.deleteTrash(trash)
    ctx.logger.info(`removed volume "${name}"`)
  })
}

/** dockerd vouches for its own containers only: a mount of the overlay in any other namespace is a user. */
async function refuseIfHeldElsewhere(ctx: StoreContext, name: string): Promise<void> {
  const users = (await overlaysInUse(ctx.layout, [name])).users.get(name)
  if (!users?.length) return
  const where = users.map((u) => `pid ${u.pid} at ${u.mountpoint}`).join(', ')
  throw inUse(`volume "${name}" is in use: its overlay is mounted in ${users.length} other mount namespace${users.length === 1 ? '' : 's'} (${where}); stop what uses it first`, {name})
}

/** dockerd's stale records, for its Remove: one that cannot be deleted (EPERM) is left for the trash. */
function dropVouchedRecords(ctx: StoreContext, name: string, ids: string[]): void {
  for (const id of ids) {
    try {
      unlinkSync(ctx.layout.activeMount(name, id))
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') continue
      ctx.logger.warn(`volume "${name}": cannot delete the record of dockerd's mount ${id} (${errnoCode(err) ?? (err as Error).message}); removing the volume anyway, dot gc deletes the trash once it can`)
    }
  }
}
