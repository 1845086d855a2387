import fs from 'node:fs'
import path from 'node:path'

/** Writes this process's ID (write to a temp file, then rename: a reader never sees it half-written). */
export function writePidfile(file: string): void {
  fs.mkdirSync(path.dirname(file), {recursive: true})
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, `${process.pid}\n`)
  fs.renameSync(tmp, file)
}

/** Removes the pidfile if it is still ours: another server may have written it since. */
export function removePidfile(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, {force: true})
  } catch {
    // Already gone.
  }
}
