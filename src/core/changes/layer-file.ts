import {createWriteStream} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type {Writable} from 'node:stream'

import {errnoCode, exists, invalid, wrap} from '../errors.js'
import {refusePseudoFilesystem} from '../kernel/pseudo-fs.js'

/**
 * Writes a layer into `file` through `write`, completely or not at all: into a temp file beside it,
 * fsynced, then renamed into place. An existing `file` is refused (a backup never overwrites another),
 * as is a temp name someone planted there (created O_EXCL: nothing is written through a symlink).
 */
export async function writeLayerFile<T>(file: string, write: (out: Writable) => Promise<T>): Promise<T> {
  const target = path.resolve(file)
  const existing = await fs.lstat(target).catch((err) => (errnoCode(err) === 'ENOENT' ? undefined : Promise.reject(wrap(`checking ${target}`, err))))
  if (existing) throw exists(`${target} already exists; give a new file name`, {file: target})
  const dir = await fs.stat(path.dirname(target)).catch(() => undefined)
  if (!dir?.isDirectory()) throw invalid(`cannot write ${target}: ${path.dirname(target)} is not a directory`, {file: target})
  refusePseudoFilesystem(target, 'the layer file')
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}`)
  // Opened before anything is read: a directory that takes no file is a clear refusal, not a stream error.
  const handle = await fs.open(temp, 'wx', 0o600).catch((err: Error) => {
    throw invalid(`cannot write ${target}: ${errnoCode(err) ?? err.message} creating ${temp}`, {file: target})
  })
  const out = createWriteStream(temp, {fd: handle}) // the stream owns the handle and closes it
  try {
    const result = await write(out)
    await new Promise<void>((resolve, reject) => {
      out.on('error', reject)
      out.end(resolve)
    })
    const synced = await fs.open(temp, 'r')
    await synced.sync().finally(() => synced.close())
    await fs.rename(temp, target)
    return result
  } catch (err) {
    out.destroy()
    await fs.rm(temp, {force: true})
    throw err
  }
}
