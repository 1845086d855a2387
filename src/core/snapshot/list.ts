import {diskUsage} from '../disk/disk-usage.js'
import {readLayerIndex} from '../disk/layer-index.js'
import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {assertNothingPlanted} from '../disk/planted.js'
import {notFound} from '../errors.js'
import type {Layout} from '../disk/layout.js'
import type {LayerEntry} from '../disk/layer-index.js'

export interface SnapshotInfo {
  tag: string
  createdAt: string
  /** Disk space of the layer: the changes made between the snapshot before it and this one. */
  bytes: number
}

/** `dot snapshots NAME`: the volume's snapshots, oldest first. */
export async function listSnapshots(layout: Layout, name: string): Promise<SnapshotInfo[]> {
  validateName(name)
  assertNothingPlanted(layout, name)
  readMetadata(layout.metadata(name), name)
  const {layers} = readLayerIndex(layout, name)
  return Promise.all(layers.map(async (entry) => ({tag: entry.tag, createdAt: entry.createdAt, bytes: await diskUsage(layout.layer(name, entry.dir))})))
}

/** The position of `tag` among the layers (oldest first), or a not-found error naming the tags there are. */
export function findTag(layers: LayerEntry[], name: string, tag: string): number {
  const at = layers.findIndex((entry) => entry.tag === tag)
  if (at >= 0) return at
  const known = layers.length === 0 ? 'it has no snapshots' : `its snapshots are ${layers.map((entry) => entry.tag).join(', ')}`
  throw notFound(`volume "${name}" has no snapshot tagged "${tag}"; ${known}`, {name, tag})
}
