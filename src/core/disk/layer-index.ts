import {closeSync, constants, lstatSync, mkdirSync, openSync} from 'node:fs'

import {writeDurably} from './atomic-write.js'
import {DotError, errnoCode, invalid} from '../errors.js'
import type {Layout} from './layout.js'
import {NAME_MAX_LENGTH, NAME_PATTERN} from './names.js'
import {plantedError} from './planted.js'
import {readSmallFile} from './read-small.js'

/** One frozen layer: a snapshot. */
export interface LayerEntry {
  tag: string
  /** Its directory under layers/ (not the tag: a merge gives a layer a new directory). */
  dir: string
  createdAt: string
}

/**
 * A change of the upper layer decided by the index write that carries it and not done yet: upper/ is
 * to become `layers/<upperTo>` (a frozen layer, or garbage), then `layers/<fresh>` becomes upper/.
 * Written before either rename; whoever finds it (the operation itself, start-up, `dot gc`) finishes it.
 */
export interface PendingUpper {
  upperTo: string
  fresh: string
}

export interface LayerIndex {
  /** Oldest first. */
  layers: LayerEntry[]
  pending?: PendingUpper
}

const INDEX_VERSION = 1

/** The index of a volume's frozen layers; a volume without layers/ has none (the Go layout). */
export function readLayerIndex(layout: Layout, name: string): LayerIndex {
  let text: string
  try {
    const fd = openSync(layout.layerIndex(name), constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      text = readSmallFile(fd)
    } finally {
      closeSync(fd)
    }
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return {layers: []}
    throw new DotError('internal', `reading the snapshots of volume "${name}": ${(err as Error).message}`, {name})
  }
  try {
    return decodeIndex(text)
  } catch (err) {
    throw new DotError('internal', `volume "${name}" has an unreadable snapshot index (${layout.layerIndex(name)}): ${(err as Error).message}`, {name})
  }
}

function decodeIndex(text: string): LayerIndex {
  const json = JSON.parse(text) as {version?: unknown; layers?: unknown; pending?: unknown}
  if (json.version !== INDEX_VERSION) throw new Error(`unknown version ${JSON.stringify(json.version)}`)
  if (!Array.isArray(json.layers)) throw new Error('no layers array')
  const layers = json.layers.map((entry: Partial<LayerEntry>) => {
    if (typeof entry.tag !== 'string' || typeof entry.dir !== 'string' || typeof entry.createdAt !== 'string') throw new Error('a layer lacks tag, dir or createdAt')
    if (!isLayerDirName(entry.dir)) throw new Error(`layer directory ${JSON.stringify(entry.dir)} is not a plain name`)
    return {tag: entry.tag, dir: entry.dir, createdAt: entry.createdAt}
  })
  const index: LayerIndex = {layers}
  const pending = json.pending as Partial<PendingUpper> | undefined
  if (pending !== undefined) {
    if (typeof pending.upperTo !== 'string' || typeof pending.fresh !== 'string' || !isLayerDirName(pending.upperTo) || !isLayerDirName(pending.fresh)) {
      throw new Error('malformed pending change of the upper layer')
    }
    index.pending = {upperTo: pending.upperTo, fresh: pending.fresh}
  }
  return index
}

/** A directory name under layers/ never leaves it: no "/", not "." or "..". */
function isLayerDirName(dir: string): boolean {
  return dir.length > 0 && dir.length <= 255 && !dir.includes('/') && dir !== '.' && dir !== '..'
}

/** Replaces the index atomically and durably: this write is the instant a snapshot operation happens. */
export function writeLayerIndex(layout: Layout, name: string, index: LayerIndex): void {
  mkdirSync(layout.layers(name), {recursive: true, mode: 0o700})
  const json = {version: INDEX_VERSION, layers: index.layers, ...(index.pending ? {pending: index.pending} : {})}
  writeDurably(layout.layerIndex(name), JSON.stringify(json, null, 1) + '\n')
}

/** The lower directories to mount above the base, newest first; a layer replaced by a symlink is refused, never followed. */
export function lowerLayerDirs(layout: Layout, name: string, index = readLayerIndex(layout, name)): string[] {
  const dirs = index.layers.map((entry) => layout.layer(name, entry.dir)).reverse()
  for (const dir of dirs) if (lstatSync(dir, {throwIfNoEntry: false})?.isSymbolicLink()) throw plantedError(name, dir)
  return dirs
}

/** Throws an `invalid` error unless `tag` follows the volume-name rule (it names a snapshot on the command line). */
export function validateTag(tag: unknown): string {
  if (typeof tag !== 'string' || tag === '') throw invalid('snapshot tag is empty; a tag matches [a-zA-Z0-9][a-zA-Z0-9_.-]*')
  if (tag.length > NAME_MAX_LENGTH) throw invalid(`snapshot tag is ${tag.length} characters long; at most ${NAME_MAX_LENGTH} are allowed`, {tag})
  if (!NAME_PATTERN.test(tag)) {
    throw invalid(`invalid snapshot tag ${JSON.stringify(tag)}: a tag starts with a letter or digit and contains only letters, digits, "_", "." and "-"`, {tag})
  }
  return tag
}
