import {closeSync, mkdirSync, readdirSync, readFileSync, renameSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type {Readable} from 'node:stream'

import type {CrashHook, CrashPoint} from '../disk/crash-points.js'
import {OverlayXattrs} from '../kernel/overlay-xattrs.js'
import {busy, unsupported} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {checkBase} from '../volume/base-check.js'
import {hasLimit} from '../volume/limit.js'
import type {VolumeStore} from '../volume/store.js'
import {applyLayer, type DirTimes, planApply} from './apply-layer.js'
import {writeDurably} from '../disk/atomic-write.js'
import {finishPending} from '../snapshot/switch.js'
import {changesReadable, refuseInUse, requireRoot} from './guards.js'
import {copyDirMetadata, syncFileSystem} from './fs-calls.js'
import type {LayerPolicy} from './layer-check.js'
import {extractLayer, type ExtractResult} from './layer-reader.js'

/**
 * `dot import`: applies an OCI layer onto a volume's changes.
 *
 * Crash protocol, in a scratch directory `<root>/.tmp-import-<name>-<rand>/` (flocked while used):
 * 1. the layer is extracted and checked into `layer/` and made durable (syncfs). A refusal, a bad
 *    stream or a crash up to here leaves the volume as it was; the scratch directory is swept.
 * 2. under the volume's lock, in use refused: an empty upper layer is replaced by `layer/` in one
 *    rename (atomic). Otherwise `apply.json` is written (the plan: see `planApply`) and fsynced, and
 *    the layer is moved into the upper layer entry by entry (`applyLayer`). A crash during that leaves
 *    `apply.json`: start-up and `dot gc` finish the apply (`finishImports`), and so nothing is half done
 *    for long; what the upper layer loses is kept in `trash/` until the end.
 */
export const IMPORT_SCRATCH_PREFIX = '.tmp-import-'
export const APPLY_JOURNAL = 'apply.json'

export interface ImportOptions extends LayerPolicy {
  signal?: AbortSignal
  from?: string
}

export interface ImportResult {
  volume: string
  from?: string
  entries: number
  whiteouts: number
  opaques: number
}

export interface Journal {
  volume: string
  setRoot: boolean
  times: DirTimes
}

export async function importVolume(store: VolumeStore, name: string, input: Readable, options: ImportOptions = {}): Promise<ImportResult> {
  const prepared = await prepareImport(store, name, input, options)
  try {
    await store.withVolumeLock(name, () => prepared.apply())
  } finally {
    await prepared.discard()
  }
  return {volume: name, ...(options.from ? {from: options.from} : {}), entries: prepared.extracted.entries, whiteouts: prepared.extracted.whiteouts, opaques: prepared.extracted.opaques}
}

export interface PreparedImport {
  extracted: ExtractResult
  /** Applies the layer; the caller holds the volume's lock. */
  apply(): Promise<void>
  /** Deletes the scratch directory (after apply, or instead of it). */
  discard(): Promise<void>
}

/** Step 1 (see above), before the volume's lock: extracting a large layer takes a while. */
export async function prepareImport(store: VolumeStore, name: string, input: Readable, options: ImportOptions): Promise<PreparedImport> {
  validateName(name)
  requireRoot('dot import')
  const meta = await readMetadata(store.layout.metadata(name), name)
  await checkBase(meta.base, store.root, name)
  await refuseInUse(store, name)
  if (meta.tmpfs) {
    throw unsupported(`dot import into volume "${name}" is refused: it keeps its changes on a tmpfs (tmpfs=true), which exists only while the volume is in use, and an import needs it unused`, {name})
  }
  // A size-limited volume's layer is extracted on its image (the apply renames it into the upper
  // layer, which cannot cross file systems), and counts against the limit.
  if (hasLimit(meta)) await changesReadable(store, name, meta)
  return extractForImport(store, name, input, options, hasLimit(meta) ? store.layout.limit(name) : undefined)
}

/** Extracts and checks the layer in a new scratch directory; `name` is only its label until `apply`. */
export async function extractForImport(store: VolumeStore, name: string, input: Readable, options: ImportOptions, within?: string): Promise<PreparedImport> {
  const scratch = within === undefined ? store.layout.scratch('tmp', `import-${name}`) : path.join(within, path.basename(store.layout.scratch('tmp', `import-${name}`)))
  await fs.mkdir(store.root, {recursive: true, mode: 0o711})
  await fs.mkdir(scratch, {mode: 0o700})
  const lock = tryLockDir(scratch)
  if (lock === undefined) throw busy(`a concurrent dot gc took the scratch directory ${scratch}; try again`)
  const discard = async () => {
    await fs.rm(scratch, {recursive: true, force: true}).catch((err: Error) => store.logger.warn(`deleting ${scratch}: ${err.message} (dot gc will retry)`))
    closeSync(lock)
  }
  try {
    const layer = path.join(scratch, 'layer')
    await fs.mkdir(layer, {mode: 0o755})
    const extracted = await extractLayer(input, layer, options, options.signal)
    syncFileSystem(layer)
    store.context.crash('import:after-extract')
    return {extracted, discard, apply: () => applyPrepared(store, name, scratch, extracted)}
  } catch (err) {
    await discard()
    throw err
  }
}

async function applyPrepared(store: VolumeStore, name: string, scratch: string, extracted: ExtractResult): Promise<void> {
  await refuseInUse(store, name)
  // A layer applies onto the upper layer: over snapshots too (they are what it sits on).
  finishPending(store.context, name)
  const upper = store.layout.upper(name)
  const layer = path.join(scratch, 'layer')
  await fs.mkdir(upper, {recursive: true, mode: 0o755})
  if (readdirSync(upper).length === 0) {
    if (!extracted.hasRoot) copyDirMetadata(upper, layer)
    renameSync(layer, upper) // onto an empty directory: atomic
  } else {
    const journal: Journal = {volume: name, setRoot: extracted.hasRoot, times: planApply(layer, upper)}
    writeDurably(path.join(scratch, APPLY_JOURNAL), JSON.stringify(journal))
    store.context.crash('import:after-plan')
    runApply(scratch, upper, journal, store.context.crash)
  }
  syncFileSystem(upper)
  store.context.crash('import:after-apply')
}

/** Step 2's moves; also what a repair runs again to finish an apply cut off by a crash. */
export function runApply(scratch: string, upper: string, journal: Journal, crash?: CrashHook): void {
  const trash = path.join(scratch, 'trash')
  mkdirSync(trash, {recursive: true, mode: 0o700})
  const xattrs = new OverlayXattrs()
  const rand = Math.random().toString(36).slice(2, 8)
  let n = 0
  applyLayer(path.join(scratch, 'layer'), upper, {
    times: journal.times,
    setRoot: journal.setRoot,
    isOpaque: (dir) => xattrs.isOpaque(dir),
    trashName: () => path.join(trash, `${rand}-${n++}`),
    crash: (step) => crash?.(step as CrashPoint),
  })
}

export function readJournal(scratch: string): Journal {
  return JSON.parse(readFileSync(path.join(scratch, APPLY_JOURNAL), 'utf8')) as Journal
}
