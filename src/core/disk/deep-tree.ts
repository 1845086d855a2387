import {execFile} from 'node:child_process'
import fs from 'node:fs/promises'

import {errnoCode} from '../errors.js'

/**
 * Trees of any depth. A container can nest directories far beyond PATH_MAX (4,096 bytes), and Node's
 * fs calls take whole paths: past that depth they fail with ENAMETOOLONG. The fast path stays Node's;
 * a tree too deep for it goes to GNU coreutils, whose `rm` and `du` walk with directory file
 * descriptors (fts, openat) and so work at any depth. Neither crosses into another filesystem
 * (`--one-file-system`, `-x`): nothing is ever deleted or counted through a mount.
 */

/** Deletes `dir` and everything below it; a missing `dir` is no error. */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fs.rm(dir, {recursive: true, force: true})
  } catch (err) {
    if (errnoCode(err) !== 'ENAMETOOLONG') throw err
    await coreutils('rm', ['-rf', '--one-file-system', '--', dir])
  }
}

/** Bytes the tree occupies (st_blocks; hard links once), as `du -s -B1 -x`: for trees too deep for a path walk. */
export async function diskUsageDeep(dir: string): Promise<number> {
  // du exits 1 when entries vanish mid-walk (a volume in use) but still prints the total it saw.
  const {stdout} = await coreutils('du', ['-s', '-B1', '-x', '--', dir], {okIfOutput: true})
  const bytes = Number.parseInt(stdout, 10)
  if (!Number.isFinite(bytes)) throw new Error(`du printed no total for ${dir}`)
  return bytes
}

function coreutils(command: string, args: string[], options: {okIfOutput?: boolean} = {}): Promise<{stdout: string}> {
  return new Promise((resolve, reject) => {
    execFile(command, args, {maxBuffer: 1024 * 1024}, (err, stdout, stderr) => {
      if (err && !(options.okIfOutput && stdout.trim() !== '')) {
        const why = stderr.split('\n').find((line) => line.trim() !== '') ?? err.message
        reject(Object.assign(new Error(`${command}: ${why.slice(0, 300)}`), {code: errnoCode(err)}))
        return
      }
      resolve({stdout})
    })
  })
}
