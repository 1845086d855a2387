import {accessSync, constants, opendirSync, realpathSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode, invalid} from '../errors.js'

/**
 * Checks that `base` can be a volume's lower layer: an existing, readable directory that neither lies
 * inside the store's root nor contains it (overlayfs refuses overlapping layers, and a base inside the
 * root could be swept as scratch). Checked at create, before a volatile volume's wipe, and to explain a
 * failed mount.
 */
export async function checkBase(base: string, root: string): Promise<void> {
  let stat
  try {
    stat = await fs.stat(base)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ENOENT') throw invalid(`base ${JSON.stringify(base)} does not exist; create the directory first`, {base})
    if (code === 'ENOTDIR') throw invalid(`base ${JSON.stringify(base)} is not a directory (a part of its path is a file)`, {base})
    if (code === 'EACCES') throw invalid(`base ${JSON.stringify(base)} cannot be reached: permission denied`, {base})
    throw invalid(`base ${JSON.stringify(base)} cannot be read: ${code ?? String(err)}`, {base})
  }
  if (!stat.isDirectory()) throw invalid(`base ${JSON.stringify(base)} is not a directory`, {base})
  // The base answered its stat through the thread pool (a hung filesystem would have stalled a worker,
  // not the event loop); the rest are synchronous, a few µs each, where four more round trips to the
  // thread pool cost ~0.2 ms on every create.
  try {
    accessSync(base, constants.R_OK | constants.X_OK)
    opendirSync(base).closeSync()
  } catch (err) {
    throw invalid(`base ${JSON.stringify(base)} is not readable: ${errnoCode(err) ?? String(err)}`, {base})
  }
  const realBase = realpathSync.native(base)
  let realRoot: string
  try {
    realRoot = realpathSync.native(root)
  } catch {
    realRoot = path.resolve(root)
  }
  if (isInside(realBase, realRoot)) {
    throw invalid(`base ${JSON.stringify(base)} is inside the docker-on-top root ${realRoot}; choose a directory outside it`, {base})
  }
  if (isInside(realRoot, realBase)) {
    throw invalid(
      `base ${JSON.stringify(base)} contains the docker-on-top root ${realRoot}; overlayfs cannot stack a volume's changes inside its own base`,
      {base},
    )
  }
}

/** Whether `child` is `parent` or lies below it (both absolute and normalised). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel))
}
