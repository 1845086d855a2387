import {closeSync} from 'node:fs'
import path from 'node:path'

import {validateTag} from '../disk/layer-index.js'
import {validateName} from '../disk/names.js'
import {exportVolume} from '../changes/export.js'
import {writeLayerFile} from '../changes/layer-file.js'
import {waitForRecovers} from '../recover/upper-guard.js'
import type {VolumeStore} from '../volume/store.js'
import {findTag} from './list.js'
import {withIdleLayers} from './snapshot.js'
import {newLayerDir, prepareFresh, sweepLayers, switchLayers} from './switch.js'

export interface RollbackResult {
  volume: string
  tag: string
  /** The snapshots made after `tag`, dropped with the upper layer. */
  dropped: string[]
  backup?: string
}

/**
 * `dot rollback NAME TAG`: drops every change made after snapshot TAG (the layers above it and the
 * upper layer); the view is then exactly what it was when TAG was taken. With `backup`, what is
 * dropped is first written as one OCI layer (`dot import NAME --from FILE` brings it back).
 */
export async function rollbackVolume(store: VolumeStore, name: string, tag: string, options: {backup?: string} = {}): Promise<RollbackResult> {
  validateName(name)
  validateTag(tag)
  const ctx = store.context
  return withIdleLayers(store, name, async (layers) => {
    const at = findTag(layers, name, tag)
    const result: RollbackResult = {volume: name, tag, dropped: layers.slice(at + 1).map((entry) => entry.tag)}
    if (options.backup) {
      await writeLayerFile(options.backup, (out) => exportVolume(store, name, out, {since: tag}))
      result.backup = path.resolve(options.backup)
      ctx.crash('rollback:after-backup')
    }
    const guard = await waitForRecovers(store.layout.upper(name), name, 'the rollback')
    try {
      // The view's top goes back to what it was when the tag was taken: that layer's root.
      const fresh = prepareFresh(ctx, name, store.layout.layer(name, layers[at].dir))
      ctx.crash('rollback:after-fresh-made')
      switchLayers(ctx, name, {layers: layers.slice(0, at + 1), pending: {upperTo: newLayerDir('.dropped-'), fresh}}, 'rollback')
    } finally {
      if (guard !== undefined) closeSync(guard)
    }
    sweepLayers(ctx, name)
    store.logger.info(`volume "${name}": rolled back to snapshot "${tag}"`)
    return result
  })
}
