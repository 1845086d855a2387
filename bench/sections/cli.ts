import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

import {type Bench, DOT_BIN, REPO} from '../context.js'

/** A command line to start as a fresh process, and the row it feeds. */
export interface Launch {
  key: string
  label: string
  args: string[]
  env?: NodeJS.ProcessEnv
  /** Checked once before timing, so a broken command is reported instead of timed. */
  expect?: (stdout: string) => boolean
}

/**
 * Start-up floors of the CLI: bare node, node importing @oclif/core, and execa, a minimal oclif
 * command (one command, no plugins), and `dot --version`. Each is a fresh process; the launches are
 * interleaved round by round so drift on a noisy machine hits them all alike.
 */
export async function cliFloors(bench: Bench): Promise<void> {
  const minimal = writeMinimalOclif()
  const launches: Launch[] = [
    {key: 'cli.node', label: "node -e ''", args: ['-e', '']},
    {key: 'cli.import-oclif', label: "node -e \"import('@oclif/core')\"", args: ['--input-type=module', '-e', "await import('@oclif/core')"]},
    {key: 'cli.import-execa', label: "node -e \"import('execa')\"", args: ['--input-type=module', '-e', "await import('execa')"]},
    {key: 'cli.minimal-oclif', label: 'minimal oclif command (no plugins)', args: [minimal, 'hello'], expect: (out) => out.trim() === 'hello'},
    {key: 'cli.version', label: 'dot --version', args: [DOT_BIN, '--version'], expect: (out) => out.includes('docker-on-top')},
  ]
  timeLaunches(bench, launches, bench.n(30, 6))
}

export function timeLaunches(bench: Bench, launches: Launch[], rounds: number): void {
  const usable = launches.filter((launch) => {
    const result = run(launch)
    if (result.status === 0 && (!launch.expect || launch.expect(result.stdout))) return true
    bench.note(`${launch.label}: skipped, it failed (exit ${result.status}): ${(result.stderr || result.stdout).trim().split('\n')[0]}`)
    return false
  })
  const samples = new Map(usable.map((l) => [l.key, [] as number[]]))
  for (let round = 0; round < rounds; round++) {
    for (const launch of usable) {
      const start = performance.now()
      const result = run(launch)
      const ms = performance.now() - start
      if (result.status !== 0) throw new Error(`${launch.label} failed: ${result.stderr}`)
      samples.get(launch.key)!.push(ms)
    }
  }
  for (const launch of usable) bench.add(launch.key, launch.label, samples.get(launch.key)!)
}

function run(launch: Launch): {status: number | null; stdout: string; stderr: string} {
  const result = spawnSync(process.execPath, launch.args, {
    cwd: REPO,
    env: {...process.env, NO_COLOR: '1', ...launch.env},
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  })
  return {status: result.status, stdout: result.stdout, stderr: result.stderr}
}

/** The smallest oclif CLI: one command that prints "hello", no plugins, written under dist/bench/. */
function writeMinimalOclif(): string {
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'minimal-oclif')
  fs.mkdirSync(path.join(dir, 'commands'), {recursive: true})
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({name: 'minimal-oclif', version: '1.0.0', type: 'module', oclif: {bin: 'minimal', commands: './commands'}}),
  )
  fs.writeFileSync(path.join(dir, 'run.js'), "import {execute} from '@oclif/core'\nawait execute({dir: import.meta.url})\n")
  fs.writeFileSync(
    path.join(dir, 'commands', 'hello.js'),
    "import {Command} from '@oclif/core'\nexport default class Hello extends Command {\n  async run() {\n    this.log('hello')\n  }\n}\n",
  )
  return path.join(dir, 'run.js')
}
