import {createWriteStream} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type {Writable} from 'node:stream'

import {errnoCode, exists, invalid, wrap} from '../errors.js'

/**
 * Writes a layer into `file` through `write`, completely or not at all: into a temp file beside it,
 * fsynced, then renamed into place. An existing `file` is refused (a backup never overwrites another).
 */
export async function writeLayerFile<T>(file: string, write: (out: Writable) => Promise<T>): Promise<T> {
  const target = path.resolve(file)
  const existing = await fs.lstat(target).catch((err) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(wrap(`checking ${target}`, err))))
  if (existing) throw exists(`${target} already exists; give a new file name`, {file: target})
  const dir = await fs.stat(path.dirname(target)).catch(() => undefined)
  if (!dir?.isDirectory()) throw invalid(`cannot write ${target}: ${path.dirname(target)} is not a directory`, {file: target})
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}`)
  const out = createWriteStream(temp, {mode: 0o600})
  try {
    const result = await write(out)
    await new Promise<void>((resolve, reject) => {
      out.on('error', reject)
      out.end(resolve)
    })
    const handle = await fs.open(temp, 'r')
    await handle.sync().finally(() => handle.close())
    await fs.rename(temp, target)
    return result
  } catch (err) {
    out.destroy()
    await fs.rm(temp, {force: true})
    throw err
  }
}
