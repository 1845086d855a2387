import {accessSync, constants, opendirSync, realpathSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode, invalid} from '../errors.js'
import {refusePseudoFilesystem} from '../kernel/pseudo-fs.js'
import {reachableBase} from './host-paths.js'

/**
 * Checks that `base` can be a volume's lower layer: an existing, readable directory that neither lies
 * inside the store's root nor contains it (overlayfs refuses overlapping layers, and a base inside the
 * root could be swept as scratch). The one base check: at create and at every first mount (through
 * openBase, resolved-base.ts), and before diff and recover read the base of volume `volume`. Messages
 * name the base as given (a host path); the checks run where it is reachable (host-paths.ts).
 */
export async function checkBase(base: string, root: string, volume?: string): Promise<void> {
  const subject = volume === undefined ? `base ${JSON.stringify(base)}` : `base ${JSON.stringify(base)} of volume ${JSON.stringify(volume)}`
  const details = volume === undefined ? {base} : {name: volume, base}
  const at = reachableBase(base)
  let stat
  try {
    stat = await fs.stat(at)
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ENOENT') throw invalid(`${subject} does not exist${volume === undefined ? '; create the directory first' : ''}`, details)
    if (code === 'ENOTDIR') throw invalid(`${subject} is not a directory (a part of its path is a file)`, details)
    if (code === 'EACCES') throw invalid(`${subject} cannot be reached: permission denied`, details)
    throw invalid(`${subject} cannot be read: ${code ?? String(err)}`, details)
  }
  if (!stat.isDirectory()) throw invalid(`${subject} is not a directory`, details)
  // /proc, /sys and their kind: overlayfs cannot use them as a lower layer.
  refusePseudoFilesystem(at, subject.replace(/ ".*$/, ''))
  // The stat went through the thread pool (a hung filesystem stalls a worker, not the event loop);
  // the rest are quick local calls.
  try {
    accessSync(at, constants.R_OK | constants.X_OK)
    opendirSync(at).closeSync()
  } catch (err) {
    throw invalid(`${subject} is not readable: ${errnoCode(err) ?? String(err)}`, details)
  }
  const realBase = realpathSync.native(at)
  let realRoot: string
  try {
    realRoot = realpathSync.native(root)
  } catch {
    realRoot = path.resolve(root)
  }
  if (isInside(realBase, realRoot)) {
    throw invalid(`${subject} is inside the docker-on-top root ${realRoot}; choose a directory outside it`, details)
  }
  if (isInside(realRoot, realBase)) {
    throw invalid(`${subject} contains the docker-on-top root ${realRoot}; overlayfs cannot stack a volume's changes inside its own base`, details)
  }
}

/** Whether `child` is `parent` or lies below it (both absolute and normalised). */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (rel !== '..' && !rel.startsWith('../') && !path.isAbsolute(rel))
}
