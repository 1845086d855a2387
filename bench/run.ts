import fs from 'node:fs'
import path from 'node:path'

import {Bench, type Mode, REPO} from './context.js'
import {renderTable, resultsJson} from './report.js'
import {cliFloors} from './sections/cli.js'
import {concurrency} from './sections/concurrency.js'
import {core} from './sections/core.js'
import {docker} from './sections/docker.js'
import {memory} from './sections/memory.js'
import {protocol} from './sections/protocol.js'
import {scale} from './sections/scale.js'
import {floors} from './sections/floors.js'
import {versus} from './sections/versus.js'

/**
 * `npm run bench [-- --quick|--full] [--out FILE] [--only a,b]`: measures docker-on-top at the protocol,
 * CLI, scale, concurrency, memory and Docker levels, prints a Markdown table (p50, p95, spread, the
 * ratio to the Go original, the goal) and writes the raw figures as JSON (bench/results/<date>.json).
 */
interface Section {
  name: string
  rootOnly: boolean
  run: (bench: Bench) => Promise<void>
}

/** `--vs BINARY` or DOT_BENCH_VS: the implementation the versus section compares `dot serve` with. */
let vsBinary: string | undefined = process.env.DOT_BENCH_VS || undefined

const SECTIONS: Section[] = [
  {name: 'floors', rootOnly: true, run: floors},
  {name: 'protocol', rootOnly: true, run: protocol},
  {name: 'core', rootOnly: true, run: core},
  {name: 'scale', rootOnly: true, run: scale},
  {name: 'concurrency', rootOnly: true, run: concurrency},
  {name: 'memory', rootOnly: true, run: memory},
  {name: 'docker', rootOnly: true, run: docker},
  {name: 'cli', rootOnly: false, run: cliFloors},
  {name: 'versus', rootOnly: true, run: (bench) => versus(vsBinary)(bench)},
]

function parseArgs(argv: string[]): {mode: Mode; out?: string; only?: string[]} {
  let mode: Mode = 'full'
  let out: string | undefined
  let only: string[] | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--quick') mode = 'quick'
    else if (arg === '--full') mode = 'full'
    else if (arg === '--out') out = argv[++i]
    else if (arg.startsWith('--out=')) out = arg.slice(6)
    else if (arg === '--vs') vsBinary = argv[++i]
    else if (arg.startsWith('--vs=')) vsBinary = arg.slice(5)
    else if (arg === '--only') only = argv[++i]?.split(',')
    else if (arg.startsWith('--only=')) only = arg.slice(7).split(',')
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`usage: npm run bench -- [--quick|--full] [--out FILE] [--vs GO_BINARY] [--only ${SECTIONS.map((s) => s.name).join(',')}]\n`)
      process.exit(0)
    } else {
      process.stderr.write(`bench: unknown option ${JSON.stringify(arg)}; allowed: --quick, --full, --out FILE, --vs GO_BINARY, --only SECTIONS\n`)
      process.exit(2)
    }
  }
  if (out === '') out = undefined
  const unknown = only?.filter((name) => !SECTIONS.some((s) => s.name === name))
  if (unknown?.length) {
    process.stderr.write(`bench: unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}\n`)
    process.exit(2)
  }
  return {mode, out, only}
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2))
  const bench = new Bench(options.mode)
  const startedAt = new Date()
  const isRoot = process.getuid?.() === 0
  for (const section of SECTIONS) {
    if (options.only && !options.only.includes(section.name)) continue
    if (section.rootOnly && !isRoot) {
      bench.note(`${section.name}: skipped, needs root (overlay mounts)`)
      continue
    }
    process.stderr.write(`[${section.name}]\n`)
    try {
      await section.run(bench)
    } catch (err) {
      bench.note(`${section.name}: failed: ${(err as Error).message}`)
      process.exitCode = 1
    }
  }
  const seconds = (Date.now() - startedAt.getTime()) / 1000
  process.stdout.write(`\n${renderTable(bench)}\n`)
  for (const table of bench.tables) process.stdout.write(`\n${table}\n`)
  if (bench.notes.length) process.stdout.write(`\nNotes:\n${bench.notes.map((n) => `- ${n}`).join('\n')}\n`)
  const out = options.out ?? path.join(REPO, 'bench', 'results', `${startedAt.toISOString().replace(/:/g, '-').slice(0, 19)}.json`)
  fs.mkdirSync(path.dirname(path.resolve(out)), {recursive: true})
  fs.writeFileSync(out, JSON.stringify(resultsJson(bench, startedAt, seconds), null, 2) + '\n')
  process.stdout.write(`\n${options.mode} run in ${seconds.toFixed(0)} s; raw figures in ${path.relative(process.cwd(), path.resolve(out))}\n`)
}

await main()
