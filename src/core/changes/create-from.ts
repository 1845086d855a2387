import {createReadStream} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {invalid} from '../errors.js'
import {validateName} from '../disk/names.js'
import {parseCreateOptions} from '../volume/options.js'
import type {Volume, VolumeStore} from '../volume/store.js'
import {requireRoot} from './guards.js'
import {extractForImport} from './import.js'
import type {LayerPolicy} from './layer-check.js'

/**
 * A create as both faces ask for it: `from` (an absolute path to a layer tar, `-o from=` or
 * `dot create --from`) seeds the new volume with that layer. The layer is extracted and checked
 * before the volume is created, so a refused layer creates nothing; then the volume is created and
 * its empty upper layer replaced by the layer in one rename. If that last step fails the new volume
 * is removed again. (A crash between the two leaves an empty volume, and the scratch directory that
 * start-up sweeps.)
 */
export async function createVolume(store: VolumeStore, name: string, rawOptions: unknown, policy: LayerPolicy = {}): Promise<Volume> {
  const opts = rawOptions && typeof rawOptions === 'object' && !Array.isArray(rawOptions) ? {...(rawOptions as Record<string, unknown>)} : rawOptions
  const from = opts && typeof opts === 'object' ? (opts as Record<string, unknown>).from : undefined
  if (from === undefined) return store.create(name, opts)
  delete (opts as Record<string, unknown>).from
  validateName(name)
  parseCreateOptions(opts)
  if (typeof from !== 'string' || !path.isAbsolute(from)) throw invalid(`option "from" must be the absolute path of a layer tar file, got ${JSON.stringify(from)}`, {option: 'from'})
  const stat = await fs.stat(from).catch(() => undefined)
  if (!stat?.isFile()) throw invalid(`option "from": ${from} is not a file; give the absolute path of a layer tar (as dot export writes it)`, {option: 'from'})
  requireRoot('creating a volume from a layer')
  if (await fs.lstat(store.layout.volume(name)).catch(() => undefined)) {
    return store.create(name, opts) // refused as "exists", the one place that says so
  }
  const prepared = await extractForImport(store, name, createReadStream(from), policy)
  try {
    const volume = await store.create(name, opts)
    try {
      await store.withVolumeLock(name, () => prepared.apply())
    } catch (err) {
      await store.remove(name, {force: true}).catch(() => {})
      throw err
    }
    return volume
  } finally {
    await prepared.discard()
  }
}
