import {type ChildProcess, spawn} from 'node:child_process'
import http from 'node:http'
import {setTimeout as sleep} from 'node:timers/promises'

import {DOT_BIN} from '../../helpers/run-dot.js'

/**
 * One real `dot serve` process under a test driver name, as systemd would run it. The log (its stderr)
 * is kept so a failing test can show what the plugin saw. Restartable, on the same root and socket.
 */
export class DotServe {
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private output = ''

  constructor(
    readonly name: string,
    readonly root: string,
    readonly socket: string,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Everything the plugin wrote, across restarts. */
  get log(): string {
    return this.output
  }

  logTail(lines = 60): string {
    return this.output.split('\n').slice(-lines).join('\n')
  }

  /** Starts `dot serve` and waits until it answers `Plugin.Activate` on its socket. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.running) throw new Error('dot serve is already running')
    const args = [DOT_BIN, 'serve', '--name', this.name, '--socket', this.socket, '--root', this.root, '--log-level', 'debug']
    this.output += `--- dot serve started: ${args.slice(1).join(' ')}\n`
    const child = spawn(process.execPath, args, {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
    this.child = child
    child.stdout!.on('data', (d) => (this.output += d))
    child.stderr!.on('data', (d) => (this.output += d))
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.output += `--- dot serve exited (code ${code}, signal ${signal})\n`
        resolve()
      })
    })
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (!this.running) throw new Error(`dot serve exited while starting:\n${this.logTail()}`)
      const answer = await post(this.socket, '/Plugin.Activate', '').catch(() => undefined)
      if (answer?.includes('VolumeDriver')) return
      if (Date.now() > deadline) {
        await this.kill()
        throw new Error(`dot serve did not answer Plugin.Activate on ${this.socket} within ${timeoutMs} ms:\n${this.logTail()}`)
      }
      await sleep(100)
    }
  }

  /** SIGTERM, as systemd stops it; SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return
    this.child!.kill('SIGTERM')
    // Unref'd: a pending grace timer must not keep the test process alive for 10 s after the exit.
    const done = await Promise.race([this.exited.then(() => true), sleep(graceMs, undefined, {ref: false}).then(() => false)])
    if (!done) {
      this.output += `--- dot serve did not exit ${graceMs} ms after SIGTERM; killing it\n`
      await this.kill()
    }
  }

  /** SIGKILL: a crash, with no chance to clean up. */
  async kill(): Promise<void> {
    if (!this.running) return
    this.child!.kill('SIGKILL')
    await this.exited
  }
}

/** POSTs to a unix-socket HTTP server, resolving with the body of the answer. */
export function post(socketPath: string, path: string, body: string, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request({socketPath, path, method: 'POST', agent: false, timeout: timeoutMs, headers: {'Content-Length': Buffer.byteLength(body)}}, (res) => {
      let data = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (data += d))
      res.on('end', () => resolve(data))
      res.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`no answer on ${socketPath}${path} within ${timeoutMs} ms`)))
    request.on('error', reject)
    request.end(body)
  })
}
