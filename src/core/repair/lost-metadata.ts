import {readVolumeMetadata} from '../disk/metadata.js'
import {rewriteMetadataFile} from '../disk/metadata-copy.js'
import type {StoreContext} from '../volume/context.js'
import {type Finding, repair} from './finding.js'

/**
 * A metadata.json that a power cut left empty or zero-filled, in a volume whose directory keeps the
 * copy (disk/metadata-copy.ts): rewritten from the copy, durably, under the volume's lock. The volume
 * was usable meanwhile (readMetadata reads the copy); a volume without one is reported by reconcile.
 */
export async function restoreLostMetadata(ctx: StoreContext, name: string, dryRun: boolean): Promise<Finding> {
  const file = ctx.layout.metadata(name)
  const finding = {volume: name, path: file, problem: 'metadata.json empty or zero-filled (lost to a power cut)', action: 'rewritten from the copy in the volume directory'}
  return repair(dryRun, finding, () =>
    ctx.locks.withLock(name, async () => {
      // Read again under the lock: another gc or a start-up may have rewritten it meanwhile.
      const again = readVolumeMetadata(file, name).fromCopy
      if (again !== undefined) rewriteMetadataFile(file, again, () => ctx.crash('repair:before-metadata-rename'))
    }),
  )
}
