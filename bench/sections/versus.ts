import fs from 'node:fs'

import {type Bench, fmt} from '../context.js'
import {Scratch} from '../fixtures.js'
import {summarize} from '../stats.js'
import {DOT, goOriginal, type Implementation} from '../versus/implementation.js'
import {runRound, type SuiteSizes} from '../versus/suite.js'

/** The rows of the side-by-side table, in the shared harness's order, with its metric names. */
const METRICS: [string, string, string][] = [
  ['noop', 'floor.activate', 'no-op round trip (/Plugin.Activate)'],
  ['create', 'a.create', 'Create'],
  ['get', 'a.get', 'Get'],
  ['list', 'a.list', 'List (root nearly empty)'],
  ['mount-first', 'a.mount_first', 'Mount, first (mounts the overlay)'],
  ['mount-second', 'a.mount_second', 'Mount, second'],
  ['unmount-nonlast', 'a.unmount_nonlast', 'Unmount, not last'],
  ['unmount-last', 'a.unmount_last', 'Unmount, last (unmounts the overlay)'],
  ['remove', 'a.remove', 'Remove'],
  ['storm-mount', 'c.mount_storm_wall', 'concurrent Mounts of one volume (wall)'],
  ['storm-unmount', 'c.unmount_storm_wall', 'concurrent Unmounts (wall)'],
  ['list-200', 'b.200.list', 'List, 200 volumes'],
  ['get-200', 'b.200.get', 'Get, 200 volumes'],
  ['list-1000', 'b.1000.list', 'List, 1,000 volumes'],
  ['get-1000', 'b.1000.get', 'Get, 1,000 volumes'],
  ['list-10000', 'b.10000.list', 'List, 10,000 volumes'],
  ['get-10000', 'b.10000.get', 'Get, 10,000 volumes'],
  ['startup-200', 'd.startup_full_root', 'start-up, 200 volumes'],
  ['startup-10000', 'd.startup_full_root', 'start-up, 10,000 volumes'],
]

/**
 * `npm run bench -- --vs GO_BINARY` (or DOT_BENCH_VS): `dot serve` and that binary (the Go original
 * built to read DOT_ROOT and DOT_SOCKET) on scratch roots, whole rounds alternating between them
 * (A,B then B,A) with one client, so the machine's drift hits both alike. Prints both
 * implementations' p50 and p95 (pooled over the rounds), their ratio, and every round's p50.
 */
export function versus(binary: string | undefined): (bench: Bench) => Promise<void> {
  return async (bench) => {
    if (!binary) {
      bench.note('versus: skipped; give --vs GO_BINARY (or DOT_BENCH_VS) to compare with another implementation')
      return
    }
    if (!fs.existsSync(binary)) throw new Error(`--vs ${binary}: no such file`)
    const sizes: SuiteSizes = bench.mode === 'full'
      ? {n: 100, stormSize: 32, storms: 10, sizes: [1000, 10000], listReps: 60, getReps: 200, startupReps: 5}
      : {n: 30, stormSize: 32, storms: 2, sizes: [200], listReps: 20, getReps: 50, startupReps: 2}
    const rounds = bench.n(3, 2)
    const impls: Implementation[] = [goOriginal(binary), DOT]
    const perRound = new Map<string, Record<string, number[]>[]>(impls.map((i) => [i.label, []]))
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? impls : [...impls].reverse()
      for (const impl of order) {
        process.stderr.write(`  round ${round + 1}/${rounds}: ${impl.label}\n`)
        const scratch = new Scratch(`vs-${impl.label}`)
        try {
          const result = await runRound(impl, scratch.dir, sizes)
          for (const failure of result.failures.slice(0, 5)) bench.note(`versus round ${round + 1}: ${failure}`)
          if (result.failures.length > 0) process.exitCode = 1
          perRound.get(impl.label)!.push(result.samples)
        } finally {
          scratch.cleanup()
        }
      }
    }
    for (const impl of impls) {
      for (const [metric, , label] of METRICS) {
        const samples = perRound.get(impl.label)!.flatMap((r) => r[metric] ?? [])
        if (samples.length > 0) bench.add(`versus.${impl.label}.${metric}`, `${impl.label}: ${label}`, samples)
      }
    }
    bench.tables.push(sideBySide(perRound, impls.map((i) => i.label) as [string, string]))
  }
}

/** The Markdown table: each implementation's pooled p50 and p95, the ratio other/first, and each round's p50. */
function sideBySide(perRound: Map<string, Record<string, number[]>[]>, [first, other]: [string, string]): string {
  const lines = [
    `| row (ms) | ${first} p50 | ${first} p95 | ${other} p50 | ${other} p95 | ${other}/${first} p50 | ${other}/${first} p95 | ${first} rounds' p50 | ${other} rounds' p50 |`,
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
  ]
  for (const [metric, harness, label] of METRICS) {
    const pooled = (label: string) => summarize(perRound.get(label)!.flatMap((r) => r[metric] ?? []))
    const rounds = (label: string) => perRound.get(label)!.map((r) => fmt(summarize(r[metric] ?? []).p50)).join(' ')
    const a = pooled(first)
    const b = pooled(other)
    if (a.n === 0 || b.n === 0) continue
    const ratio = (x: number, y: number) => (y / x).toFixed(2)
    lines.push(`| ${label} (${harness}) | ${fmt(a.p50)} | ${fmt(a.p95)} | ${fmt(b.p50)} | ${fmt(b.p95)} | ${ratio(a.p50, b.p50)} | ${ratio(a.p95, b.p95)} | ${rounds(first)} | ${rounds(other)} |`)
  }
  return lines.join('\n')
}
