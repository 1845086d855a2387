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
  // The floor of a Mount or Unmount (issue 5: the no-op round trip plus the syscalls the operation
  // needs): the no-op of this run plus the operation's syscalls made bare right before each call (the
  // protocol section's "syscalls alone" rows: the mount or unmount and the inodes it must make or
  // drop), plus 0.3 ms. Create's is shown beside Go's figure: a volume's tree costs what it costs.
  const noop = p50('protocol.noop')
  const bareKey: Record<string, string> = {
    'protocol.create': 'protocol.floor-create',
    'protocol.mount-first': 'protocol.floor-mount-first',
    'protocol.mount-second': 'protocol.floor-mount-second',
    'protocol.unmount-nonlast': 'protocol.floor-unmount-nonlast',
    'protocol.unmount-last': 'protocol.floor-unmount-last',
  }
  const bare = bareKey[row.key] ? p50(bareKey[row.key]) : undefined
  if (noop !== undefined && bare !== undefined) push(noop + bare + FLOOR_MARGIN_MS, `noop+syscalls alone+${FLOOR_MARGIN_MS}`)
  const minimal = p50('cli.minimal-oclif')
  if (minimal !== undefined) {
    if (row.key === 'cli.version') push(minimal, 'minimal oclif')
    if (row.key === 'scale.ls-q-10000') push(minimal * LS_ALLOWANCE, `${LS_ALLOWANCE}x minimal oclif`)
  }
  return goals
}

/** "yes" when every goal is met, "**no**" when none is; else each goal's basis with its answer. */
function metCell(goals: Goal[]): string {
  if (goals.length === 0) return ''
  if (goals.every((g) => g.met)) return 'yes'
  if (goals.every((g) => !g.met)) return '**no**'
  return goals.map((g) => `${g.basis.split('+')[0] === 'noop' ? 'floor' : g.basis}: ${g.met ? 'yes' : '**no**'}`).join('; ')
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
        metCell(goals),
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
