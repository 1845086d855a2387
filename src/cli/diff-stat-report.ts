import type {DiffStat} from '../core/diff/diff-stat.js'
import {formatBytes} from './human-size.js'

/** `dot diff --stat` for a human: one line per rename, then one per kind. */
export function renderDiffStat(stat: DiffStat): string {
  const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`
  const lines = stat.renamed.map((r) => `R ${r.from} -> ${r.to}  (${entries(r.entries)}, ${formatBytes(r.bytes)})`)
  for (const [letter, kind] of [['A', stat.added], ['C', stat.changed], ['D', stat.deleted]] as const) {
    lines.push(`${letter} ${entries(kind.entries)}, ${formatBytes(kind.bytes)}`)
  }
  return lines.join('\n')
}
