import fs from 'node:fs/promises'
import path from 'node:path'

import {execa} from 'execa'

/** What `dot recover --changes-only --to DIR` names the list of deletions it writes into DIR (README). */
export const DELETIONS_FILE = '.docker-on-top-deletions'

/**
 * Writes the paths the volume deleted from its base into `dir`, one a line, sorted (a deleted
 * directory is listed with what it held, as `dot diff` lists it), so that a changes-only copy carries
 * its deletions along. Never overwrites a recovered file of the same name: then a warning instead.
 */
export async function writeDeletionsFile(dir: string, deleted: string[]): Promise<{deletionsFile?: string; warning?: string}> {
  const file = path.join(dir, DELETIONS_FILE)
  // The copy keeps the volume root's times: adding the file must not change them.
  const before = await fs.stat(dir, {bigint: true})
  try {
    await fs.writeFile(file, deleted.map((p) => `${p}\n`).join(''), {flag: 'wx', mode: 0o644})
    await restoreTimes(dir, before.atimeNs, before.mtimeNs)
    return {deletionsFile: file}
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return {warning: `the volume holds a file ${DELETIONS_FILE} of its own, so the list of deletions was not written into ${dir} (it is printed instead)`}
  }
}

/** To the nanosecond, as tar restored them: Node's utimes rounds to microseconds, GNU touch does not. */
async function restoreTimes(dir: string, atimeNs: bigint, mtimeNs: bigint): Promise<void> {
  const stamp = (ns: bigint) => `@${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`
  await execa('touch', ['-a', '-h', '-d', stamp(atimeNs), dir])
  await execa('touch', ['-m', '-h', '-d', stamp(mtimeNs), dir])
}
