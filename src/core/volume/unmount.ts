import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {listRecordIds, readRecord, validateMountId, writeRecord} from '../disk/records.js'
import {DotError, wrap} from '../errors.js'
import type {StoreContext} from './context.js'
import {teardown} from './teardown.js'

/**
 * Drops one use of mount ID `id`; the last use of the last ID unmounts the overlay. An ID that is not
 * mounted is a success (dockerd retries unmounts, PROTOCOL.md §9.4).
 */
export async function unmountVolume(ctx: StoreContext, name: string, id: string): Promise<void> {
  validateName(name)
  validateMountId(id)
  const {layout} = ctx
  await ctx.locks.withLock(name, async () => {
    const meta = await readMetadata(layout.metadata(name), name)
    const count = await readRecord(layout, name, id)
    if (count === 0) {
      ctx.logger.debug(`unmount "${name}" id ${id}: not mounted under this ID; nothing to do`)
      return
    }
    await writeRecord(layout, name, id, count - 1).catch((err) => {
      throw wrap(`unmounting volume "${name}": updating the record of mount ${id}`, err)
    })
    ctx.crash('unmount:after-record')
    if (count > 1 || (await listRecordIds(layout, name)).length > 0) return
    // Busy (a shell or a stray process still inside): a volatile volume's overlay is detached, as its
    // next first mount starts on a fresh upper anyway. A normal volume's stays mounted without records:
    // detached, it would stay alive on the same upper and workdir as the next mount's overlay. Left
    // mounted, the next mount reuses it and `dot gc` unmounts it once free. Either way the unmount
    // succeeds: nobody uses the volume any more. mountpoint/ and workdir/ stay for the next mount, as
    // Docker's overlay2 keeps a layer's work/ (overlayfs empties work/ itself at mount).
    try {
      await teardown(ctx, name, {detachIfBusy: meta.volatile, keepDirs: true})
    } catch (err) {
      if (meta.volatile || !(err instanceof DotError && err.code === 'busy')) throw err
      ctx.logger.warn(`${err.message}; left mounted with no users (the next mount reuses it, dot gc unmounts it once free)`)
    }
    ctx.crash('unmount:after-unmount')
  })
}
