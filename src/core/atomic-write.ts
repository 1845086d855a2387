import {renameSync, rmSync, writeFileSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

/**
 * Replaces `file` with `data` so that a reader (or a crash) sees the old content or the new, never a
 * mix: write a temp file in the same directory, optionally fsync it, rename it over the target.
 * `durable` fsyncs the file and the directory, for data that must survive a power cut (metadata);
 * mount records need not: after a power cut nothing is mounted and start-up drops them anyway.
 */
export async function writeFileAtomic(file: string, data: string, options: {mode?: number; durable?: boolean} = {}): Promise<void> {
  const dir = path.dirname(file)
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`)
  if (!options.durable) {
    // Nothing to wait for on disk: two synchronous calls (µs each) instead of four thread-pool round
    // trips. This is the mount-record write on every Mount and Unmount.
    writeFileSync(temp, data, {mode: options.mode ?? 0o644})
    try {
      renameSync(temp, file)
    } catch (err) {
      rmSync(temp, {force: true})
      throw err
    }
    return
  }
  const handle = await fs.open(temp, 'w', options.mode ?? 0o644)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await fs.rename(temp, file)
  } catch (err) {
    await fs.rm(temp, {force: true})
    throw err
  }
  await syncDir(dir)
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
