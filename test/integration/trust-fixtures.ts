import {execFileSync, spawn, type StdioOptions} from 'node:child_process'
import fs from 'node:fs'

import {DOT_BIN, type DotResult} from '../helpers/run-dot.js'
import {mountsBelow, unmountBelow} from '../helpers/temp-root.js'

/** Shared by the trust suites (hostile input, full disks, odd records): the real CLI, killed for sure. */

/**
 * Runs `dot` like runDot, but a run that outlives `timeoutMs` is SIGKILLed (a hung CLI that ignores
 * SIGTERM must fail the test, not hang it) and stdout can be any fd (/dev/full).
 */
export function runDotHard(args: string[], options: {timeoutMs?: number; stdout?: number; env?: NodeJS.ProcessEnv} = {}): Promise<DotResult & {killed: boolean}> {
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'pipe', 'pipe']
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DOT_BIN, ...args], {env: {...process.env, NO_COLOR: '1', ...options.env}, stdio})
    let stdout = ''
    let stderr = ''
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      child.kill('SIGKILL')
    }, options.timeoutMs ?? 20_000)
    child.stdout?.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code: code ?? (signal ? 128 : 1), stdout, stderr, killed})
    })
  })
}

/** Builds `depth` nested directories `dir/dir/...` under `top` (by relative chdir, as a container can), with `file` at the bottom. */
export function makeDeepTree(top: string, depth: number, file: {name: string; bytes: number}): void {
  const script = `const fs=require('fs');process.chdir(process.argv[1]);for(let i=0;i<${depth};i++){fs.mkdirSync('dir');process.chdir('dir')}fs.writeFileSync(${JSON.stringify(file.name)},Buffer.alloc(${file.bytes},120))`
  execFileSync(process.execPath, ['-e', script, top], {stdio: 'inherit'})
}

/** Removes a test directory whatever it holds: unmounts below it, then GNU rm (which handles any depth). */
export function removeHard(dir: string): void {
  unmountBelow(dir)
  if (mountsBelow(dir).length === 0) execFileSync('rm', ['-rf', '--one-file-system', '--', dir])
}

/** The entries of the root that are scratch (`.tmp-*`, `.trash-*`). */
export function scratchEntries(root: string): string[] {
  return fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-')) : []
}

/** Mounts a tmpfs of `size` (e.g. "2m") at `dir`, which is made. */
export function mountTmpfs(dir: string, size: string): void {
  fs.mkdirSync(dir, {recursive: true})
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir])
}

/** A stack trace in CLI output: a line starting with "at " after indentation. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at /m.test(text)
}
