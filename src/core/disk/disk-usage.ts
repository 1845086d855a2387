import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode} from '../errors.js'
import {diskUsageDeep} from './deep-tree.js'

/**
 * Bytes a directory tree occupies on disk (st_blocks, like du): a sparse file counts for what it holds,
 * a hard-linked file once. Walks the tree, so it is for `ls`/`inspect`, never for Get or List.
 * Entries vanishing mid-walk (a volume in use) are skipped. The directory itself is not counted:
 * an empty upper layer is 0 bytes of changes, not the 4 KiB of its own directory block.
 */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<string>()
  let total = 0
  const walk = async (p: string): Promise<void> => {
    let stat
    try {
      stat = await fs.lstat(p, {bigint: true})
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return
      throw err
    }
    if (stat.nlink > 1n && !stat.isDirectory()) {
      const key = `${stat.dev}:${stat.ino}`
      if (seen.has(key)) return
      seen.add(key)
    }
    if (p !== dir) total += Number(stat.blocks) * 512
    if (!stat.isDirectory()) return
    let names: string[]
    try {
      names = await fs.readdir(p)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return
      throw err
    }
    for (const name of names) await walk(path.join(p, name))
  }
  try {
    await walk(dir)
  } catch (err) {
    // Deeper than a path can name (PATH_MAX): measured by du, which walks with directory fds.
    if (errnoCode(err) === 'ENAMETOOLONG') return diskUsageDeep(dir)
    throw err
  }
  return total
}
