import {mkdirSync} from 'node:fs'
import path from 'node:path'

import {errnoCode} from '../errors.js'

/**
 * `mkdir -p`, one component at a time, with the kernel's own error. Node's `{recursive: true}` reports
 * ENOENT where the kernel said EROFS (a read-only root) and spins forever under /proc: a read-only
 * root must say "read-only file system", and nothing may hang the event loop.
 */
export function makeDirs(dir: string, mode: number): void {
  try {
    mkdirSync(dir, {mode})
    return
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EEXIST') return
    const parent = path.dirname(dir)
    if (code !== 'ENOENT' || parent === dir) throw err
  }
  makeDirs(path.dirname(dir), mode)
  try {
    mkdirSync(dir, {mode})
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err
  }
}
