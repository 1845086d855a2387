import os from 'node:os'
import fs from 'node:fs'

import {type Bench, fmt, type Row} from './context.js'
import {FLOOR_MARGIN_MS, GO_ORIGINAL, LS_ALLOWANCE, STARTUP_ALLOWANCE} from './goals.js'

/** A row's target: the bound its p50 must meet, and where the bound comes from. */
export interface Goal {
  target: number
  basis: string
  met: boolean
}

/** Every goal of issue 5 that applies to `row`, evaluated against figures of the same run. */
export function goalsFor(bench: Bench, row: Row): Goal[] {
  const goals: Goal[] = []
  const p50 = (key: string) => bench.row(key)?.summary.p50
  const push = (target: number | undefined, basis: string) => {
    if (target !== undefined && Number.isFinite(target)) goals.push({target, basis, met: row.summary.p50 <= target})
  }
  const go = GO_ORIGINAL[row.key]
  if (go !== undefined && !row.key.startsWith('floor.')) {
    if (row.key === 'scale.startup-10000') push(go * STARTUP_ALLOWANCE, `${STARTUP_ALLOWANCE}x Go`)
    else push(go, 'Go')
  }
  const noop = p50('protocol.noop')
  const mount2 = p50('floor.mount2')
  const umount2 = p50('floor.umount2')
  if (noop !== undefined) {
    if (row.key === 'protocol.mount-first' && mount2 !== undefined) push(noop + mount2 + FLOOR_MARGIN_MS, 'noop+mount(2)+0.3')
    if (row.key === 'protocol.unmount-last' && umount2 !== undefined) push(noop + umount2 + FLOOR_MARGIN_MS, 'noop+umount2(2)+0.3')
    if (row.key === 'protocol.mount-second' || row.key === 'protocol.unmount-nonlast') push(noop + FLOOR_MARGIN_MS, 'noop+0.3')
  }
  const minimal = p50('cli.minimal-oclif')
  if (minimal !== undefined) {
    if (row.key === 'cli.version') push(minimal, 'minimal oclif')
    if (row.key === 'scale.ls-q-10000') push(minimal * LS_ALLOWANCE, `${LS_ALLOWANCE}x minimal oclif`)
  }
  return goals
}

/** The table as Markdown, so it pastes into BENCHMARKS.md unchanged. */
export function renderTable(bench: Bench): string {
  const lines = [
    '| row | n | p50 | p95 | spread (p5-p95) | Go p50 | ratio to Go | goal (p50 <=) | met |',
    '|---|---:|---:|---:|---:|---:|---:|---|:-:|',
  ]
  for (const row of bench.rows) {
    const s = row.summary
    const go = GO_ORIGINAL[row.key]
    const goals = goalsFor(bench, row)
    const unit = row.unit === 'ms' ? '' : ` ${row.unit}`
    lines.push(
      [
        '',
        row.label,
        String(s.n),
        fmt(s.p50) + unit,
        fmt(s.p95) + unit,
        `${fmt(s.p5)}-${fmt(s.p95)}`,
        go === undefined ? '' : fmt(go),
        go === undefined ? '' : `${(s.p50 / go).toFixed(2)}x`,
        goals.map((g) => `${fmt(g.target)} (${g.basis})`).join('; '),
        goals.length === 0 ? '' : goals.every((g) => g.met) ? 'yes' : '**no**',
        '',
      ].join(' | ').trim(),
    )
  }
  return lines.join('\n')
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    os: osName(),
    node: process.version,
  }
}

function osName(): string {
  try {
    return /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'linux'
  } catch {
    return 'linux'
  }
}

export function resultsJson(bench: Bench, startedAt: Date, seconds: number): unknown {
  return {
    startedAt: startedAt.toISOString(),
    mode: bench.mode,
    seconds: Math.round(seconds),
    machine: machine(),
    goOriginal: GO_ORIGINAL,
    rows: bench.rows.map((row) => ({...row, goals: goalsFor(bench, row)})),
    notes: bench.notes,
  }
}
