import {closeSync, constants, openSync, statSync, writeFileSync} from 'node:fs'
import path from 'node:path'

import {DotError, errnoCode, notFound} from '../errors.js'
import type {Logger} from '../logger.js'
import {lostToPowerCut, METADATA_XATTR, readMetadataCopy} from './metadata-copy.js'
import {readSmallFile} from './read-small.js'

/** What `metadata.json` holds, in our terms. */
export interface Metadata {
  base: string
  volatile: boolean
  /** When the volume was created. Go-written volumes lack it: then the file's birth (or change) time. */
  createdAt: Date
  /** Bytes the changes may take: they live on an ext4 image (or a tmpfs) of that size. */
  size?: number
  /** The changes live on a tmpfs mounted at the first mount (volatile volumes only). */
  tmpfs?: boolean
}

/** The JSON as the Go original writes it (`BaseDirPath`, `Volatile`), plus our `CreatedAt`. */
interface MetadataJson {
  BaseDirPath: string
  Volatile: boolean
  CreatedAt?: string
  /** Only in volumes with a size limit or on tmpfs: others keep the Go original's three keys. */
  SizeLimit?: number
  Tmpfs?: boolean
}

export function encodeMetadata(meta: Metadata): string {
  const json: MetadataJson = {BaseDirPath: meta.base, Volatile: meta.volatile, CreatedAt: meta.createdAt.toISOString()}
  if (meta.size !== undefined) json.SizeLimit = meta.size
  if (meta.tmpfs) json.Tmpfs = true
  return JSON.stringify(json) + '\n'
}

/** Parses metadata.json; `fallbackCreatedAt` is used when the file predates `CreatedAt` (Go original). */
export function decodeMetadata(text: string, fallbackCreatedAt: () => Date): Metadata {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new DotError('internal', `metadata is not valid JSON: ${(err as Error).message}`)
  }
  if (typeof json !== 'object' || json === null) throw new DotError('internal', 'metadata is not a JSON object')
  const {BaseDirPath: base, Volatile: volatile, CreatedAt: createdAt, SizeLimit: size, Tmpfs: tmpfs} = json as Partial<MetadataJson>
  if (typeof base !== 'string' || base === '') throw new DotError('internal', 'metadata has no BaseDirPath')
  if (volatile !== undefined && typeof volatile !== 'boolean') throw new DotError('internal', 'metadata Volatile is not a boolean')
  let created = typeof createdAt === 'string' ? new Date(createdAt) : undefined
  if (created === undefined || Number.isNaN(created.getTime())) created = fallbackCreatedAt()
  if (size !== undefined && !(Number.isSafeInteger(size) && size > 0)) throw new DotError('internal', 'metadata SizeLimit is not a positive integer')
  if (tmpfs !== undefined && typeof tmpfs !== 'boolean') throw new DotError('internal', 'metadata Tmpfs is not a boolean')
  const meta: Metadata = {base, volatile: volatile ?? false, createdAt: created}
  if (size !== undefined) meta.size = size
  if (tmpfs) meta.tmpfs = true
  return meta
}

/** Reads a volume's metadata; a volume without metadata.json does not exist (`not-found`). */
export function readMetadata(file: string, name: string, logger?: Pick<Logger, 'warn'>): Metadata {
  return readVolumeMetadata(file, name, logger).meta
}

/** The metadata, and the copy's text when the file was lost to a power cut and the copy stood in. */
export interface ReadMetadata {
  meta: Metadata
  fromCopy?: string
}

/** Files whose loss to a power cut was logged already: once per process is enough. */
const warned = new Set<string>()

/**
 * readMetadata, telling whether the xattr copy (disk/metadata-copy.ts) stood in for a metadata.json
 * that a power cut left empty or zero-filled; start-up and `dot gc` then rewrite the file (reconcile).
 */
export function readVolumeMetadata(file: string, name: string, logger?: Pick<Logger, 'warn'>): ReadMetadata {
  const text = readMetadataText(file, name)
  try {
    return {meta: decodeMetadata(text, () => fileTime(file))}
  } catch (err) {
    const copy = lostToPowerCut(text) ? readMetadataCopy(path.dirname(file)) : undefined
    const meta = copy === undefined ? undefined : decodeCopy(copy)
    if (meta === undefined) throw new DotError('internal', `volume "${name}" has unreadable metadata (${file}): ${(err as Error).message}`, {name})
    if (logger && !warned.has(file)) {
      warned.add(file)
      logger.warn(`volume "${name}": ${file} is ${text.length === 0 ? 'empty' : 'zero-filled'} (a power cut before it reached the disk); using the copy in ${METADATA_XATTR} (start-up and dot gc rewrite the file)`)
    }
    return {meta, fromCopy: copy}
  }
}

function readMetadataText(file: string, name: string): string {
  try {
    // O_NOFOLLOW: a symlink planted in its place is refused (ELOOP), never read (disk/planted.ts).
    const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      return readSmallFile(fd)
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') throw notFound(`no such volume: ${name}`, {name})
    if (errnoCode(err) === 'ELOOP') throw new DotError('invalid', `volume "${name}": ${file} is a symbolic link; docker-on-top never follows a link inside its root`, {name, path: file})
    throw new DotError('internal', `reading metadata of volume "${name}": ${(err as Error).message}`, {name})
  }
}

function decodeCopy(copy: string): Metadata | undefined {
  try {
    // Every copy has CreatedAt (only our creates write one): no fallback time is needed.
    return decodeMetadata(copy, () => new Date(0))
  } catch {
    return undefined
  }
}

function fileTime(file: string): Date {
  // Only Go-written volumes lack CreatedAt; a sync stat keeps decodeMetadata pure and is cheap.
  const stat = statSync(file)
  return stat.birthtimeMs > 0 ? stat.birthtime : stat.ctime
}

/**
 * Writes the metadata of a volume being built under its scratch name (`VolumeStore.create`): in place
 * and exclusive, as nobody can see the directory before it is renamed into place complete. Not fsynced
 * here: its xattr copy, or the flush after the create's answer, makes it safe (see `create`).
 */
export function writeMetadata(file: string, meta: Metadata): void {
  writeFileSync(file, encodeMetadata(meta), {mode: 0o644, flag: 'wx'})
}
