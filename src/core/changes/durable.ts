import {closeSync, fsyncSync, openSync, renameSync, writeFileSync} from 'node:fs'
import path from 'node:path'

/** Writes a small journal file so that it is on disk, whole, before the next step: temp, fsync, rename, fsync the directory. */
export function writeDurably(file: string, data: string): void {
  const temp = `${file}.tmp`
  writeFileSync(temp, data, {mode: 0o600})
  const fd = openSync(temp, 'r')
  fsyncSync(fd)
  closeSync(fd)
  renameSync(temp, file)
  const dir = openSync(path.dirname(file), 'r')
  fsyncSync(dir)
  closeSync(dir)
}
