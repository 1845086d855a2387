import type {Finding} from '../core/repair/reconcile.js'
import {type ColumnSpec, fitWidths, shortenMiddle} from './fit-columns.js'
import {borderlessTable} from './plain-table.js'

const HEADERS = ['VOLUME', 'PROBLEM', 'ACTION', 'PATH']

/**
 * `dot gc`'s findings. On a terminal (`columns`) the table fits its width: PATH is shortened in the
 * middle, PROBLEM and ACTION wrap onto more lines; a pipe gets one line per finding, in full.
 */
export async function renderFindings(findings: Finding[], options: {columns?: number} = {}): Promise<string> {
  const rows = findings.map((f) => [f.volume ?? '-', f.problem, f.action, f.path])
  const Table = await borderlessTable()
  if (options.columns === undefined) {
    const table = new Table(HEADERS)
    for (const row of rows) table.push(row)
    return table.render()
  }
  const specs: ColumnSpec[] = HEADERS.map((header, i) => {
    const natural = Math.max(header.length, ...rows.map((row) => [...row[i]].length))
    return {natural, min: Math.min(natural, [12, 20, 16, 16][i])}
  })
  const [VOLUME, PROBLEM, ACTION, PATH] = [0, 1, 2, 3]
  const widths = fitWidths(specs, options.columns, [PATH, PROBLEM, ACTION, VOLUME])
  const table = new Table(HEADERS, {colWidths: widths, wordWrap: true})
  for (const row of rows) table.push([shortenMiddle(row[VOLUME], widths[VOLUME]), row[PROBLEM], row[ACTION], shortenMiddle(row[PATH], widths[PATH])])
  return table.render()
}
