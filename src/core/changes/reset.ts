import {closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {busy} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import {readLayerIndex} from '../disk/layer-index.js'
import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {ensureChangesFs, hasLimit, LIMIT_TRASH_PREFIX} from '../volume/limit.js'
import type {VolumeStore} from '../volume/store.js'
import {finishPending} from '../snapshot/switch.js'
import {exportVolume} from './export.js'
import {copyDirMetadata, exchange} from './fs-calls.js'
import {refuseInUse} from './guards.js'
import {writeLayerFile} from './layer-file.js'

/**
 * `dot reset`: discards a volume's changes and keeps the volume (name, base, options). A volume with
 * snapshots loses its upper layer only, the changes made since its newest snapshot (`dot rollback`
 * drops snapshots).
 *
 * Crash protocol, under the volume's lock: with `backup`, the changes are first written as a layer
 * (complete or not at all, see writeLayerFile). Then an empty upper layer is made in a flocked scratch
 * directory `<root>/.tmp-reset-<name>-<rand>/upper` and swapped with the volume's in one
 * renameat2(RENAME_EXCHANGE): the reset happens at that instant, and the old changes are now in the
 * scratch directory, deleted next. A crash before the swap leaves the volume as it was; after it, the
 * volume reset. Either way start-up and `dot gc` sweep the scratch directory (the `.tmp-*` sweep),
 * which finishes the deletion or throws the unused empty layer away.
 */
export interface ResetResult {
  volume: string
  /** Whether there was anything to discard. */
  hadChanges: boolean
  backup?: string
}

export async function resetVolume(store: VolumeStore, name: string, options: {backup?: string} = {}): Promise<ResetResult> {
  const {crash} = store.context
  validateName(name)
  const meta = await readMetadata(store.layout.metadata(name), name)
  await refuseInUse(store, name)
  return store.withVolumeLock(name, async () => {
    await refuseInUse(store, name)
    finishPending(store.context, name)
    const result: ResetResult = {volume: name, hadChanges: false}
    // Before the backup: its export then finds the image mounted and takes no lock (it is held here).
    if (!(await ensureChangesFs(store.context, name, meta))) return result // a tmpfs volume not in use has none
    const upper = store.layout.upper(name)
    if (options.backup) {
      // Reset drops the upper layer only (snapshots stay): the backup is what changed since the newest one.
      const newest = readLayerIndex(store.layout, name).layers.at(-1)?.tag
      await writeLayerFile(options.backup, (out) => exportVolume(store, name, out, {since: newest}))
      result.backup = path.resolve(options.backup)
      crash('reset:after-backup')
    }
    if (!lstatSync(upper, {throwIfNoEntry: false})) {
      mkdirSync(upper, {mode: 0o755})
      return result
    }
    result.hadChanges = readdirSync(upper).length > 0
    // The exchange needs both on one file system: a limit's scratch is on the limit (swept at its next mount).
    const scratch = hasLimit(meta)
      ? path.join(store.layout.limit(name), `${LIMIT_TRASH_PREFIX}reset-${Math.random().toString(36).slice(2, 10)}`)
      : store.layout.scratch('tmp', `reset-${name}`)
    mkdirSync(scratch, {mode: 0o700})
    const lock = tryLockDir(scratch)
    if (lock === undefined) throw busy(`a concurrent dot gc took the scratch directory ${scratch}; try again`, {name})
    try {
      const fresh = path.join(scratch, 'upper')
      mkdirSync(fresh)
      copyDirMetadata(upper, fresh)
      exchange(fresh, upper)
      syncDir(store.layout.volume(name))
      syncDir(scratch)
      crash('reset:after-exchange')
      // The overlay's work directory may hold leftovers of the old upper (a copy-up cut short).
      await fs.rm(store.layout.workdir(name), {recursive: true, force: true})
      await fs.rm(scratch, {recursive: true, force: true})
    } finally {
      closeSync(lock)
    }
    store.logger.info(`reset volume "${name}": its changes were discarded`)
    return result
  })
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
