import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode} from '../errors.js'

/**
 * The real path of `p` even when it does not exist yet: the nearest existing ancestor resolved
 * through symlinks, the rest appended; where `p` will be once created. The kernel reports mountpoints
 * by real path, so a root below a symlink must be resolved to match them.
 */
export async function realpathOfNearest(p: string): Promise<string> {
  try {
    return await fs.realpath(p)
  } catch (err) {
    const parent = path.dirname(p)
    if (errnoCode(err) !== 'ENOENT' || parent === p) return p
    return path.join(await realpathOfNearest(parent), path.basename(p))
  }
}
