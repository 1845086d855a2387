import fs from 'node:fs'
import path from 'node:path'

import {makeDirs} from '../core/disk/make-dirs.js'
import {errnoCode, invalid, wrap} from '../core/errors.js'
import {refusePseudoFilesystem} from '../core/kernel/pseudo-fs.js'

/**
 * Before the server starts: the pidfile's directory is not on /proc, /sys or their kind (where Node's
 * recursive mkdir spins forever), and exists (made one component at a time, with the kernel's error).
 */
export function preparePidfile(file: string): void {
  refusePseudoFilesystem(path.dirname(path.resolve(file)), "the pidfile's directory")
  makeDirs(path.dirname(path.resolve(file)), 0o755)
}

/** Writes this process's ID (write to a temp file, then rename: a reader never sees it half-written); after preparePidfile. */
export function writePidfile(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.writeFileSync(tmp, `${process.pid}\n`)
    fs.renameSync(tmp, file)
  } catch (err) {
    fs.rmSync(tmp, {force: true})
    if (errnoCode(err) === 'EISDIR') throw invalid(`--pidfile ${file} is a directory; give the path of a file`, {pidfile: file})
    throw wrap(`writing the pidfile ${file}`, err)
  }
}

/** Removes the pidfile if it is still ours: another server may have written it since. */
export function removePidfile(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, {force: true})
  } catch {
    // Already gone.
  }
}
