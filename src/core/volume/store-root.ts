import {statSync} from 'node:fs'
import path from 'node:path'

import {invalid} from '../errors.js'
import {refusePseudoFilesystem} from '../kernel/pseudo-fs.js'
import {realpathOfNearest} from '../kernel/realpath.js'

/**
 * The directory a store opens on, resolved through symlinks (the kernel reports mountpoints by real
 * path). An empty root would be the working directory, whose `.trash-*` and `.tmp-*` gc would sweep;
 * a root that exists must be a directory; one on /proc or /sys would hang or mislead.
 */
export async function resolveStoreRoot(given: string): Promise<string> {
  if (given.trim() === '') throw invalid('the store root is empty; give a directory (--root DIR or DOT_ROOT) or leave it out for the default')
  const root = await realpathOfNearest(path.resolve(given))
  refusePseudoFilesystem(root, 'the store root')
  const stat = statSync(root, {throwIfNoEntry: false})
  if (stat && !stat.isDirectory()) throw invalid(`the store root ${JSON.stringify(root)} is not a directory`, {root})
  return root
}
