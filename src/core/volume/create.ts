import {closeSync, lstatSync, mkdirSync, renameSync, rmSync} from 'node:fs'
import path from 'node:path'

import {LIMIT_DIR, LIMIT_IMAGE} from '../disk/layout.js'
import {makeDirs} from '../disk/make-dirs.js'
import {encodeMetadata, type Metadata, writeMetadata} from '../disk/metadata.js'
import {storeMetadataCopy} from '../disk/metadata-copy.js'
import {validateName} from '../disk/names.js'
import {busy, DotError, errnoCode, exists, unsupported, wrap} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import {limitRefusal, makeImage} from '../kernel/limit-fs.js'
import type {StoreContext} from './context.js'
import {parseCreateOptions} from './options.js'
import {toVolume, type Volume} from './read.js'
import {type OpenBase, openBase} from './base-check.js'
import {applyNewTop, readBaseTop, VOLUME_DIR_MODE} from './top-dir.js'

export async function createVolume(ctx: StoreContext, name: string, rawOptions: unknown): Promise<Volume> {
  validateName(name)
  const options = parseCreateOptions(rawOptions)
  const {root} = ctx.layout
  const refusal = limitRefusal(options, root)
  if (refusal !== undefined) throw unsupported(`cannot create volume "${name}" with a size limit: ${refusal}`, {name, option: 'size'})
  // Base first: a refused create must leave nothing behind, not even a new root directory.
  const base = await openBase(options.base, root)
  try {
    makeDirs(root, 0o711) // not mkdir's recursive mode: a read-only root must say EROFS, not ENOENT
  } catch (err) {
    base.close()
    throw err // as it is: the CLI tells a permission error from others by its errno
  }
  const meta: Metadata = {base: options.base, volatile: options.volatile, createdAt: new Date()}
  if (options.size !== undefined) meta.size = options.size
  if (options.tmpfs) meta.tmpfs = true
  // No volume lock to take yet: in this process the queue orders creates of one name; across
  // processes the rename into place decides (it fails on the volume another create put there first).
  await ctx.locks.serialize(name, async () => {
    let copied: boolean
    try {
      copied = await buildVolume(ctx, name, meta, base)
    } finally {
      base.close()
    }
    ctx.crash('create:after-rename')
    if (needsFlush(ctx, meta, copied)) {
      // Durable right after the answer, not before it (see NewVolumes). A power cut in between loses a
      // volume that holds no change yet, or leaves one whose metadata reads empty, which is reported,
      // never deleted; dockerd commits its own record of the volume after our answer too.
      ctx.newVolumes.flush(name, [ctx.layout.metadata(name), ctx.layout.volume(name), root])
    }
    const limit = options.tmpfs ? ` on tmpfs${options.size ? ` of ${options.size} bytes` : ''}` : options.size ? `, changes limited to ${options.size} bytes` : ''
    ctx.logger.info(`created volume "${name}" on ${options.base}${options.volatile ? ' (volatile)' : ''}${limit}`)
  })
  // What was just written, not read back: a new volume has no records and nothing mounted.
  return toVolume(ctx, name, meta, new Map(), false, {layers: false})
}

/**
 * Whether the new volume must reach the disk before its first mount (docs/rules.md, rule 7): not
 * on a file system that keeps metadata in order when the xattr copy of its metadata was set, as a
 * container's file can then only survive a power cut together with the volume and that copy. An image
 * (size=) is flushed all the same: a container's writes into it are data of limit.img, overwriting
 * blocks that existed before the volume's rename, so their order with it is not the journal's.
 */
function needsFlush(ctx: StoreContext, meta: Metadata, copied: boolean): boolean {
  if (!copied || (meta.size !== undefined && !meta.tmpfs)) return true
  return !ctx.metadataOrder().ordered
}

/**
 * Builds the volume complete under a scratch name, then renames it into place: a crash leaves a
 * `.tmp-*` that start-up sweeps, never a half-made volume. The scratch directory is locked while it
 * is built (a sweep skips it) and, renamed, is the volume: the lock is the volume's until released.
 * Returns whether the metadata's xattr copy was set on it.
 */
async function buildVolume(ctx: StoreContext, name: string, meta: Metadata, base: OpenBase): Promise<boolean> {
  const {layout} = ctx
  if (lstatSync(layout.volume(name), {throwIfNoEntry: false})) throw exists(`volume "${name}" already exists`, {name})
  const tmp = layout.scratch('tmp', name)
  let lock: number | undefined
  try {
    mkdirSync(tmp, {mode: VOLUME_DIR_MODE})
    lock = tryLockDir(tmp)
    // Held already: a sweep (dot gc in another process) took it between the mkdir and here, and is
    // deleting it. Never build a volume in a directory someone else is deleting.
    if (lock === undefined) throw busy(`creating volume "${name}": a concurrent dot gc took its scratch directory; try again`, {name})
    ctx.crash('create:after-tmp')
    if (meta.size !== undefined || meta.tmpfs) {
      // upper/ is made on the limit's own file system at the first mount (volume/limit.ts).
      mkdirSync(path.join(tmp, LIMIT_DIR), {mode: 0o700})
      if (!meta.tmpfs) await makeImage(path.join(tmp, LIMIT_IMAGE), meta.size as number)
      ctx.crash('create:after-image')
    } else {
      mkdirSync(path.join(tmp, 'upper'), {mode: 0o700})
      applyNewTop(path.join(tmp, 'upper'), tmp, readBaseTop(base.fd, base.stat), ctx.logger)
    }
    mkdirSync(path.join(tmp, 'activemounts'), {mode: 0o755})
    const text = encodeMetadata(meta)
    writeMetadata(path.join(tmp, 'metadata.json'), meta)
    // Before the rename: it must be on the inode when the volume appears (disk/metadata-copy.ts).
    const copied = storeMetadataCopy(tmp, text, (message) => ctx.logger.debug(message))
    ctx.crash('create:before-rename')
    renameSync(tmp, layout.volume(name))
    return copied
  } catch (err) {
    try {
      rmSync(tmp, {recursive: true, force: true})
    } catch {
      // Left for the sweep at start-up or `dot gc`.
    }
    if (['ENOTEMPTY', 'EEXIST'].includes(errnoCode(err) ?? '')) throw exists(`volume "${name}" already exists`, {name})
    if (err instanceof DotError) throw err
    throw wrap(`creating volume "${name}"`, err)
  } finally {
    if (lock !== undefined) closeSync(lock)
  }
}
