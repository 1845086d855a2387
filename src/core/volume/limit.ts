import {lstatSync, readdirSync, renameSync} from 'node:fs'
import path from 'node:path'

import type {Metadata} from '../disk/metadata.js'
import {DotError, errnoCode, invalid} from '../errors.js'
import {fsUsage, mountedOn, mountImage, mountTmpfs} from '../kernel/limit-fs.js'
import {syncFileSystem} from '../changes/fs-calls.js'
import {APPLY_JOURNAL, IMPORT_SCRATCH_PREFIX, readJournal, runApply} from '../changes/import.js'
import type {StoreContext} from './context.js'

/** Leftovers inside a limit's file system (a volatile wipe or a reset cut off) start with this. */
export const LIMIT_TRASH_PREFIX = '.trash-'

/** Whether the volume keeps its changes on a file system of their own (size= or tmpfs=true). */
export function hasLimit(meta: Metadata): boolean {
  return meta.size !== undefined || meta.tmpfs === true
}

/**
 * Makes the changes' file system present, under the volume's lock. An image is mounted on first need
 * (a mount, or any verb that reads or writes the changes) and stays mounted until `dot rm` or a reboot:
 * verbs that read the changes without the lock (diff, export, ls sizes) never have it pulled from
 * under them. A tmpfs exists only while the volume is mounted: `forMount` mounts a fresh one (a
 * leftover one is detached first, so the wipe always happens); otherwise false says there is none.
 */
export async function ensureChangesFs(ctx: StoreContext, name: string, meta: Metadata, options: {forMount?: boolean} = {}): Promise<boolean> {
  if (!hasLimit(meta)) return true
  const dir = ctx.layout.limit(name)
  if (!lstatSync(dir, {throwIfNoEntry: false})?.isDirectory()) {
    throw new DotError('internal', `volume "${name}" has a size limit but no ${dir}; its layout is damaged`, {name})
  }
  const mounted = mountedOn(dir)
  if (meta.tmpfs) {
    if (!options.forMount) return mounted
    if (mounted) await (await ctx.mounter()).unmount(dir, {detach: true})
    await mountTmpfs(await ctx.mounter(), name, dir, meta.size)
    return true
  }
  if (mounted) return true
  await mountImage(name, ctx.layout.limitImage(name), dir)
  ctx.crash('limit:after-mount')
  sweepLimitTrash(ctx, name)
  return true
}

/** For the verbs that change a volume's changes: its file system mounted, or a refusal saying why not. */
export async function requireChangesFs(ctx: StoreContext, name: string, meta: Metadata, what: string): Promise<void> {
  if (await ensureChangesFs(ctx, name, meta)) return
  throw invalid(`${what} volume "${name}": it keeps its changes on a tmpfs (tmpfs=true), which exists only while the volume is mounted; it has no changes now`, {name})
}

/** Unmounts the changes' file system (the last unmount of a tmpfs volume, or `dot rm`). The caller holds the lock. */
export async function releaseChangesFs(ctx: StoreContext, name: string, options: {detach: boolean}): Promise<void> {
  const dir = ctx.layout.limit(name)
  while (mountedOn(dir)) {
    try {
      await (await ctx.mounter()).unmount(dir, {detach: false})
    } catch (err) {
      if (errnoCode(err) !== 'EBUSY' || !options.detach) throw new DotError('busy', `unmounting the changes of volume "${name}" (${dir}): ${(err as Error).message}`, {name}, {cause: err})
      ctx.logger.warn(`volume "${name}": its changes' file system is busy, detaching it lazily`)
      await (await ctx.mounter()).unmount(dir, {detach: true})
    }
  }
}

/**
 * Moves the upper layer aside inside its own file system (a rename across file systems fails), for
 * the background deletion; a crash leaves a `.trash-*` there, swept at the image's next mount.
 */
export function trashUpperInLimit(ctx: StoreContext, name: string): string {
  const trash = path.join(ctx.layout.limit(name), `${LIMIT_TRASH_PREFIX}${Math.random().toString(36).slice(2, 10)}`)
  renameSync(ctx.layout.upper(name), trash)
  return trash
}

/**
 * Right after the image is mounted (so no command of this boot is using it): trash goes; an import cut
 * off while applying its layer is finished before anyone sees the changes (changes/import.ts), one cut
 * off while extracting is deleted. The caller holds the volume's lock.
 */
function sweepLimitTrash(ctx: StoreContext, name: string): void {
  const dir = ctx.layout.limit(name)
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry)
    if (entry.startsWith(IMPORT_SCRATCH_PREFIX) && lstatSync(path.join(full, APPLY_JOURNAL), {throwIfNoEntry: false})) {
      runApply(full, ctx.layout.upper(name), readJournal(full), ctx.crash)
      syncFileSystem(ctx.layout.upper(name))
      ctx.logger.info(`volume "${name}": finished an import cut off while applying its layer`)
    }
    if (entry.startsWith(LIMIT_TRASH_PREFIX) || entry.startsWith(IMPORT_SCRATCH_PREFIX)) ctx.background.deleteTrash(full)
  }
}

/** What the changes take of the limit: the file system's use when mounted, else the image's allocated blocks. */
export function limitUsage(ctx: StoreContext, name: string, meta: Metadata): {used: number; limit: number} | undefined {
  if (meta.size === undefined) return undefined
  const dir = ctx.layout.limit(name)
  if (mountedOn(dir)) return {used: fsUsage(dir).used, limit: meta.size}
  if (meta.tmpfs) return {used: 0, limit: meta.size}
  const image = lstatSync(ctx.layout.limitImage(name), {throwIfNoEntry: false})
  return {used: image ? image.blocks * 512 : 0, limit: meta.size}
}
