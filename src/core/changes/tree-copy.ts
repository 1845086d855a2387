import fs from 'node:fs/promises'
import path from 'node:path'

import {DotError} from '../errors.js'
import {copyCounting, spawnTar} from '../recover/tar-process.js'
import {layerCreateArgs} from './layer-format.js'

/**
 * Copies entries from one directory into another with everything they carry (GNU tar piped into GNU
 * tar: types, modes, owners, nanosecond times, xattrs except overlayfs's own, hard links, sparse files).
 * `entries` are `./`-relative paths in `from`, parents first, not recursed into; the default is all of
 * `from`. Existing files in `to` are replaced (unlinked first, so their other hard links keep the old
 * content), existing directories get the new metadata and keep what they hold.
 */
export async function copyEntries(job: {from: string; to: string; entries?: string[]; scratch: string; onBytes?: (n: number) => void}): Promise<void> {
  const listFile = path.join(job.scratch, `copy-${Math.random().toString(36).slice(2, 8)}`)
  if (job.entries) await fs.writeFile(listFile, job.entries.join('\0') + (job.entries.length ? '\0' : ''), {mode: 0o600})
  const createArgs = job.entries ? layerCreateArgs(job.from, listFile) : [...layerCreateArgs(job.from, listFile).filter((a) => !/^--(no-recursion|null|verbatim-files-from|files-from=)/.test(a)), '.']
  const extractArgs = ['--extract', '--file=-', `--directory=${job.to}`, '--same-owner', '--same-permissions', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.overlay.*']
  const create = spawnTar(createArgs, ['ignore', 'pipe'])
  const extract = spawnTar(extractArgs, ['pipe', 'ignore'])
  try {
    await copyCounting(create.child.stdout!, extract.child.stdin!, job.onBytes ?? (() => {}), true)
  } catch (err) {
    create.child.kill()
    extract.child.kill()
    const [created, extracted] = await Promise.all([create.done, extract.done])
    throw new DotError('internal', `copying ${job.from} into ${job.to} failed: ${extracted.stderr || created.stderr || (err as Error).message}`)
  } finally {
    await fs.rm(listFile, {force: true})
  }
  const [created, extracted] = await Promise.all([create.done, extract.done])
  if (created.code !== 0) throw new DotError('internal', `reading ${job.from} failed: ${created.stderr || `tar exited with ${created.code}`}`)
  if (extracted.code !== 0) throw new DotError('internal', `writing into ${job.to} failed: ${extracted.stderr || `tar exited with ${extracted.code}`}`)
}
