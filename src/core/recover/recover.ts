import fs from 'node:fs/promises'
import path from 'node:path'
import type {Writable} from 'node:stream'

import {computeChanges} from '../diff/changes.js'
import {historyOf, withSingleUpper} from '../snapshot/history.js'
import {diskUsage} from '../disk/disk-usage.js'
import {readMetadata} from '../disk/metadata.js'
import {DotError, errnoCode, exists, invalid, wrap} from '../errors.js'
import {makeDirs} from '../disk/make-dirs.js'
import {refusePseudoFilesystem} from '../kernel/pseudo-fs.js'
import {realpathOfNearest} from '../kernel/realpath.js'
import {isInside} from '../volume/base-check.js'
import type {StoreContext} from '../volume/context.js'
import {getVolume} from '../volume/read.js'
import {tarCreateArgs, tarExtractArgs, TAR_EXIT_DIFFERS} from './gnu-tar.js'
import {type MergedView, withMergedView} from './merged-view.js'
import {copyCounting, spawnTar} from './tar-process.js'
import {writeDeletionsFile} from './deletions-file.js'

export interface RecoverOptions {
  /** Only what changed (new and modified files and directories, with their parent directories); deletions are listed. */
  changesOnly?: boolean
  /** Only what changed after this snapshot (implies changesOnly). */
  since?: string
  /** Copy a volume in use anyway (the copy may be inconsistent). */
  force?: boolean
  /** Called as bytes flow; `total` is an estimate (blocks in use), so `done` may pass it. */
  progress?: (done: number, total: number) => void
  /** Aborting stops the copy (the tar processes are killed); the view is still unmounted and removed. */
  signal?: AbortSignal
}

export interface RecoverResult {
  volume: string
  /** The directory written, for `--to`. */
  to?: string
  changesOnly: boolean
  /** Paths the volume deleted from its base (with changesOnly; a full copy simply lacks them). */
  deleted: string[]
  /** With changesOnly and `--to`: the file in the target listing `deleted` (DELETIONS_FILE). */
  deletionsFile?: string
  /** Bytes of tar stream produced. */
  bytes: number
  /** Whether the volume was in use while copied (only with force). */
  wasInUse: boolean
  warnings: string[]
}

/**
 * Writes the volume as containers last saw it into `target`, a new or empty directory, which gets the
 * volume root's own mode, owner and times. The volume is not changed. On failure `target` may hold a
 * partial copy; the error says so.
 */
export async function recoverToDirectory(ctx: StoreContext, name: string, target: string, options: RecoverOptions = {}): Promise<RecoverResult> {
  const dir = path.resolve(target)
  await checkTarget(ctx, name, dir)
  return recover(ctx, name, options, async (view, archive) => {
    makeDirs(dir, 0o700)
    const extract = spawnTar(tarExtractArgs(dir), ['pipe', 'ignore'])
    const extractFailed = (code: number, stderr: string) =>
      new DotError('internal', `extracting into ${dir} failed (it holds a partial copy): ${stderr || `tar exited with ${code}`}`, {to: dir})
    const created = await archive(extract.child.stdin!, true).catch(async (err: Error) => {
      // A failing extract (a full disk) shows up here first, as EPIPE: its own message says more.
      if (!options.signal?.aborted) {
        const extracted = await Promise.race([extract.done, new Promise<undefined>((resolve) => setTimeout(resolve, 2000))])
        if (extracted && extracted.code !== 0) throw extractFailed(extracted.code, extracted.stderr)
      }
      extract.child.kill()
      await extract.done
      throw err
    })
    const extracted = await extract.done
    if (extracted.code !== 0) throw extractFailed(extracted.code, extracted.stderr)
    return created
  }).then(async (result) => {
    if (!result.changesOnly) return {...result, to: dir}
    const {deletionsFile, warning} = await writeDeletionsFile(dir, result.deleted)
    return {...result, to: dir, ...(deletionsFile ? {deletionsFile} : {}), warnings: warning ? [...result.warnings, warning] : result.warnings}
  })
}

/** Streams the volume as a tar archive (pax format) to `out`, e.g. process.stdout; never ends `out`. */
export async function recoverToTar(ctx: StoreContext, name: string, out: Writable, options: RecoverOptions = {}): Promise<RecoverResult> {
  return recover(ctx, name, options, (_view, archive) => archive(out, false))
}

type Archive = (out: Writable, end: boolean) => Promise<{warnings: string[]}>

async function recover(
  ctx: StoreContext,
  name: string,
  options: RecoverOptions,
  write: (view: MergedView, archive: Archive) => Promise<{warnings: string[]}>,
): Promise<RecoverResult> {
  const changesOnly = (options.changesOnly ?? false) || options.since !== undefined
  const result = await withMergedView(ctx, name, {force: options.force ?? false}, async (view) => {
    let listFile: string | undefined
    let deleted: string[] = []
    let estimate: () => Promise<number> = () => diskUsage(view.dir)
    if (changesOnly) {
      const {OverlayXattrs} = await import('../kernel/overlay-xattrs.js')
      const history = historyOf(ctx.layout, name, options.since)
      const {changes, parents} = await withSingleUpper(ctx, name, {history, base: view.meta.base}, ({upper, base}) => computeChanges(upper, base, new OverlayXattrs()))
      deleted = changes.filter((c) => c.kind === 'D').map((c) => c.path)
      const paths = ['.', ...[...parents, ...changes.filter((c) => c.kind !== 'D').map((c) => c.path)].sort().map((p) => `.${p}`)]
      listFile = path.join(view.scratch, 'paths')
      await fs.writeFile(listFile, paths.join('\0') + '\0', {mode: 0o600})
      estimate = () => sizeOfPaths(view.dir, paths)
    }
    let bytes = 0
    const total = options.progress ? await estimate() : 0
    const archive: Archive = (out, end) =>
      writeArchive({name, dir: view.dir, listFile, out, end, signal: options.signal}, (n) => {
        bytes += n
        options.progress?.(bytes, total)
      })
    const {warnings} = await write(view, archive)
    return {deleted, bytes, wasInUse: view.wasInUse, warnings}
  })
  const warnings = [...result.warnings]
  if (result.wasInUse) warnings.unshift(`volume "${name}" was in use while it was copied: the copy may be inconsistent`)
  else if (isMountedNow(ctx, name)) {
    warnings.unshift(`volume "${name}" was mounted while it was being copied: the copy may be inconsistent`)
  }
  return {volume: name, changesOnly, ...result, warnings}
}

/**
 * Runs `tar --create` on the view and copies its output into `out`, counting bytes. Tar's "some files
 * changed while being read" (a volume in use) is a warning; any other failure an error. Aborting kills tar.
 */
async function writeArchive(
  job: {name: string; dir: string; listFile?: string; out: Writable; end: boolean; signal?: AbortSignal},
  onBytes: (n: number) => void,
): Promise<{warnings: string[]}> {
  const {name, signal} = job
  const create = spawnTar(tarCreateArgs(job.dir, job.listFile), ['ignore', 'pipe'])
  const stop = () => create.child.kill()
  signal?.addEventListener('abort', stop)
  if (signal?.aborted) stop()
  try {
    await copyCounting(create.child.stdout!, job.out, onBytes, job.end, signal)
  } catch (err) {
    create.child.kill()
    await create.done
    if (signal?.aborted) throw interrupted(name)
    if (errnoCode(err) === 'EPIPE') throw new DotError('internal', 'the reader of the archive went away before it was complete (EPIPE)', {name})
    throw wrap(`copying volume "${name}"`, err)
  } finally {
    signal?.removeEventListener('abort', stop)
  }
  const {code, stderr} = await create.done
  if (signal?.aborted) throw interrupted(name)
  if (code === TAR_EXIT_DIFFERS) return {warnings: [`tar: ${stderr || 'some files changed while they were read'}`]}
  if (code !== 0) throw new DotError('internal', `archiving volume "${name}" failed: ${stderr || `tar exited with ${code}`}`, {name})
  return {warnings: []}
}

function interrupted(name: string): DotError {
  return new DotError('internal', `recover of volume "${name}" interrupted; the volume is unchanged`, {name})
}

/**
 * `target` must be new or an empty directory, and outside the store root and the volume's base: the
 * base is never written to, and a copy inside the root would be inside some volume.
 */
async function checkTarget(ctx: StoreContext, name: string, dir: string): Promise<void> {
  // A symlink to nowhere would have its target made, wherever it points: refused, as a typo would be.
  const link = await fs.lstat(dir).catch(() => undefined)
  if (link?.isSymbolicLink() && !(await fs.stat(dir).catch(() => undefined))) {
    throw invalid(`${dir} is a symlink to ${await fs.readlink(dir)}, which does not exist; give a new or empty directory`, {to: dir})
  }
  // /proc, /sys: nothing can be recovered into them (and Node's recursive mkdir spins there forever).
  refusePseudoFilesystem(dir, '--to')
  try {
    const stat = await fs.stat(dir)
    if (!stat.isDirectory()) throw invalid(`${dir} exists and is not a directory; give a new or empty directory`, {to: dir})
    if ((await fs.readdir(dir)).length > 0) throw exists(`refusing to write into ${dir}: it is not empty; give a new or empty directory`, {to: dir})
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw wrap(`checking ${dir}`, err)
  }
  const real = await realpathOfNearest(dir)
  const base = await realpathOfNearest(readMetadata(ctx.layout.metadata(name), name).base)
  for (const [forbidden, what] of [
    [ctx.layout.root, 'the store root'],
    [base, `the base of volume "${name}"`],
  ] as const) {
    if (isInside(real, forbidden)) throw invalid(`refusing to write into ${dir}: it is inside ${what} (${forbidden})`, {to: dir})
  }
}

/** Whether the volume is mounted now; false if it cannot be read any more. */
function isMountedNow(ctx: StoreContext, name: string): boolean {
  try {
    return getVolume(ctx, name).mounted
  } catch {
    return false
  }
}

async function sizeOfPaths(dir: string, paths: string[]): Promise<number> {
  let total = 0
  for (const p of paths) {
    const stat = await fs.lstat(path.join(dir, p)).catch(() => undefined)
    if (stat && !stat.isDirectory()) total += stat.blocks * 512
  }
  return total
}
