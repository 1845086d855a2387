import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {type Summary, summarize} from './stats.js'

/** The repository root (this file is compiled to dist/bench/). */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const DOT_BIN = path.join(REPO, 'bin', 'run.js')

export type Mode = 'quick' | 'full'

/** One measured figure: raw samples plus their summary. `key` matches GO_ORIGINAL and the floors. */
export interface Row {
  key: string
  section: string
  label: string
  unit: 'ms' | 'MiB'
  samples: number[]
  summary: Summary
  note?: string
}

/** What every section gets: the sizes for this mode, and where to put rows and notes. */
export class Bench {
  readonly rows: Row[] = []
  readonly notes: string[] = []
  /** Tables printed after the rows (the side-by-side comparison). */
  readonly tables: string[] = []

  constructor(readonly mode: Mode) {}

  /** Repetitions: `full` in a full run, `quick` in a quick one. */
  n(full: number, quick: number): number {
    return this.mode === 'full' ? full : quick
  }

  add(key: string, label: string, samples: number[], options: {unit?: 'ms' | 'MiB'; note?: string} = {}): Row {
    const row: Row = {key, section: key.split('.')[0], label, unit: options.unit ?? 'ms', samples, summary: summarize(samples)}
    if (options.note) row.note = options.note
    this.rows.push(row)
    process.stderr.write(`  ${label.padEnd(52)} p50 ${fmt(row.summary.p50)} p95 ${fmt(row.summary.p95)} ${row.unit} (n=${row.summary.n})\n`)
    return row
  }

  note(text: string): void {
    this.notes.push(text)
    process.stderr.write(`  note: ${text}\n`)
  }

  row(key: string): Row | undefined {
    return this.rows.find((r) => r.key === key)
  }
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '-'
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}
