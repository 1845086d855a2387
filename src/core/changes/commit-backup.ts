import path from 'node:path'

import type {Change} from '../diff/changes.js'
import {lstatIfAny} from './fs-calls.js'
import {byteOrder} from './layer-plan.js'
import {writeLayerFile} from './layer-file.js'
import {writeLayer} from './layer-writer.js'

/**
 * `dot commit --backup FILE`: before the base is written, a layer that turns the committed base back
 * into the current one: every base entry the commit replaces or deletes (with the directories holding
 * changes, for their metadata), and a whiteout for each path it adds below a directory the base has.
 * Applied with `dot create undo --base DIR --from FILE && dot commit undo --yes`.
 */
export async function writeBaseBackup(base: string, changes: Change[], file: string, scratch: string): Promise<void> {
  const entries = new Set<string>()
  const whiteouts: string[] = []
  const inBase = (rel: string) => lstatIfAny(path.join(base, rel))
  for (const change of changes) {
    for (let dir = path.posix.dirname(change.path); dir !== '/'; dir = path.posix.dirname(dir)) {
      if (inBase(dir)?.isDirectory()) entries.add(dir)
    }
    if (change.kind !== 'A' && inBase(change.path)) entries.add(change.path)
    if (change.kind === 'A' && inBase(path.posix.dirname(change.path))?.isDirectory()) whiteouts.push(change.path)
  }
  const sorted = [...entries].sort(byteOrder).map((p) => `.${p}`)
  await writeLayerFile(file, (out) => writeLayer({dir: base, entries: sorted, whiteouts, opaques: []}, out, scratch))
}
