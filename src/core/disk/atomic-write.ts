import {closeSync, constants, fsync, fsyncSync, openSync, renameSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import path from 'node:path'

/**
 * Replaces `file` with `data` so that a reader (or a crash) sees the old content or the new, never a
 * mix: write a temp file in the same directory, rename it over the target. Not fsynced: this is the
 * mount-record update, and after a power cut nothing is mounted and start-up drops records anyway.
 */
export function writeFileAtomic(file: string, data: string, options: {mode?: number} = {}): void {
  const dir = path.dirname(file)
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`)
  try {
    // A write that fails (ENOSPC) must not leave its temp file behind.
    writeFileSync(temp, data, {mode: options.mode ?? 0o644})
    renameSync(temp, file)
  } catch (err) {
    rmSync(temp, {force: true})
    throw err
  }
}

/** fsyncs a file or a directory: its data, or the entries it holds, reach the disk. */
export async function syncPath(p: string): Promise<void> {
  // Only the fsync waits on the disk, so only it goes to the thread pool: open and close on the local
  // root are quicker than a round trip through the pool.
  const fd = openSync(p, 'r')
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())))
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes a small file so that it is on disk, whole, before the next step: a temp file (a leftover one
 * removed first, then created O_EXCL|O_NOFOLLOW, so never through a link planted in its place),
 * fsynced, renamed over `file`, the directory fsynced. `beforeRename`: a crash point's hook.
 */
export function writeDurably(file: string, data: string, options: {temp?: string; mode?: number; beforeRename?: () => void} = {}): void {
  const temp = options.temp ?? `${file}.tmp`
  rmSync(temp, {force: true})
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode ?? 0o600)
  try {
    writeSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  options.beforeRename?.()
  renameSync(temp, file)
  const dir = openSync(path.dirname(file), constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}
