import {execa} from 'execa'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import {REPO} from '../../helpers/run-dot.js'
import {type CommandResult, TEST_IMAGE} from './docker.js'

/**
 * A dockerd of the test's own (test/e2e/dockerd.sh with its own run dir, socket, data root and
 * containerd), for what changes a whole daemon: managed plugins, swarm mode, a `kill -9`. The shared
 * test daemon (DOT_TEST_DOCKER_HOST) is never touched. `purge()` stops it and deletes its data root;
 * call it in `after`, it is safe after a failed or partial start.
 */
export class OwnDockerd {
  readonly label: string
  readonly runDir: string
  readonly dataRoot: string
  readonly host: string
  private started = false

  constructor(label: string) {
    // Short: the socket path must fit a sockaddr_un (108 bytes).
    this.label = `${label}-${randomBytes(3).toString('hex')}`
    this.runDir = `/run/dot-e2e-${this.label}`
    this.dataRoot = `/var/lib/dot-e2e/${this.label}`
    this.host = `unix://${this.runDir}/docker.sock`
  }

  get pid(): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.runDir, 'dockerd.pid'), 'utf8').trim()) || undefined
    } catch {
      return undefined
    }
  }

  /** Starts it, waits until it answers, and imports the busybox test image. */
  async start(): Promise<void> {
    this.started = true
    await this.script('start')
    const image = await execa('bash', [path.join(REPO, 'test', 'e2e', 'test-image.sh')], {
      env: {DOCKER_HOST: this.host, DOT_TEST_IMAGE: TEST_IMAGE},
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    })
    if (image.exitCode !== 0) throw new Error(`importing the test image into ${this.host} failed:\n${image.stderr}${image.stdout}`)
  }

  /** SIGKILL, as a crash: its containers' shims and its containerd keep running. */
  killHard(): void {
    const pid = this.pid
    if (pid) process.kill(pid, 'SIGKILL')
  }

  /** Stops it (killing what a killed dockerd left), unmounts what it left and deletes its data root. */
  async purge(): Promise<void> {
    if (!this.started) return
    await this.script('purge')
    fs.rmSync(this.runDir, {recursive: true, force: true})
  }

  /** The tail of its log, for a failing test's message. */
  logTail(lines = 30): string {
    try {
      return fs.readFileSync(path.join(this.runDir, 'dockerd.log'), 'utf8').split('\n').slice(-lines).join('\n')
    } catch {
      return '(no dockerd log)'
    }
  }

  /** Runs the docker CLI against this daemon; never throws for a non-zero exit. */
  async docker(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    return this.run('docker', args, timeoutMs)
  }

  /** As `docker`, but throws with docker's message unless it exited 0; returns trimmed stdout. */
  async dockerOk(args: string[], timeoutMs = 60_000): Promise<string> {
    return this.ok('docker', args, timeoutMs)
  }

  /** Runs any client of the daemon (docker-compose, say) with DOCKER_HOST set to it. */
  async run(command: string, args: string[], timeoutMs = 60_000, cwd?: string): Promise<CommandResult> {
    const result = await execa(command, args, {env: {DOCKER_HOST: this.host}, reject: false, stdin: 'ignore', timeout: timeoutMs, ...(cwd ? {cwd} : {})})
    if (result.timedOut) throw new Error(`${command} ${args.join(' ')}: timed out after ${timeoutMs} ms`)
    return {code: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr}
  }

  async ok(command: string, args: string[], timeoutMs = 60_000, cwd?: string): Promise<string> {
    const result = await this.run(command, args, timeoutMs, cwd)
    if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}:\n${result.stderr || result.stdout}`)
    return result.stdout.trim()
  }

  private async script(action: 'start' | 'purge'): Promise<void> {
    const result = await execa('bash', [path.join(REPO, 'test', 'e2e', 'dockerd.sh'), action], {
      env: {...process.env, DOT_E2E_RUN_DIR: this.runDir, DOT_E2E_DATA_ROOT: this.dataRoot},
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    })
    if (result.exitCode !== 0) throw new Error(`dockerd.sh ${action} (${this.label}) failed:\n${result.stderr}${result.stdout}`)
  }
}
