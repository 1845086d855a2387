import {renameSync} from 'node:fs'

import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {dropRecords, readRecords} from '../disk/records.js'
import {inUse, invalid} from '../errors.js'
import type {StoreContext} from './context.js'
import {teardown} from './teardown.js'

/**
 * Removes a volume and its changes. Refused while mount records exist unless `force`, which unmounts
 * (lazily if busy) first. The directory is renamed to `.trash-*` before it is deleted, so a crash
 * mid-delete leaves no half-volume.
 */
export async function removeVolume(ctx: StoreContext, name: string, options: {force?: boolean} = {}): Promise<void> {
  validateName(name)
  const {layout} = ctx
  await ctx.locks.withLock(name, async () => {
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
    const records = readRecords(layout, name)
    if (records.size > 0 && !options.force) {
      const ids = [...records.keys()]
      throw inUse(`volume "${name}" is in use (${ids.length} active mount${ids.length === 1 ? '' : 's'}: ${ids.join(', ')}); unmount it first, or force`, {
        name,
        mounts: Object.fromEntries(records),
      })
    }
    // Drop the records before unmounting (records mean use), then make sure nothing is mounted inside
    // the directory about to be deleted: deleting through a live overlay would write whiteouts. The
    // mount-only directories go with the rest, in the background deletion of the trash.
    if (records.size > 0) dropRecords(layout, name, {recreate: false})
    await teardown(ctx, name, {detachIfBusy: true, keepDirs: true})
    ctx.crash('remove:after-unmount')
    const trash = layout.scratch('trash', name)
    renameSync(volumeDir, trash)
    ctx.crash('remove:after-rename')
    // The rename committed the removal. Deleting a large upper can outlast dockerd's Remove timeout:
    // it runs after the answer; `close` (and gc, after a crash) finishes it.
    ctx.background.deleteTrash(trash)
    ctx.logger.info(`removed volume "${name}"`)
  })
}
