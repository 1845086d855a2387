import {type ChildProcess, spawn} from 'node:child_process'
import http from 'node:http'
import path from 'node:path'

import {DOT_BIN} from '../helpers/run-dot.js'

/** A real `dot serve` child process on a temp root and socket, for the plugin tests. */
export class ServeProcess {
  stdout = ''
  stderr = ''
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>

  private constructor(readonly child: ChildProcess, readonly socket: string) {
    child.stdout!.on('data', (d) => (this.stdout += d))
    child.stderr!.on('data', (d) => (this.stderr += d))
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
  }

  /** Spawns `dot serve` and resolves once it printed its ready line (or rejects with its stderr if it exited). */
  static async start(options: {root: string; socket: string; name?: string; env?: NodeJS.ProcessEnv; extraArgs?: string[]}): Promise<ServeProcess> {
    const proc = ServeProcess.spawn(options)
    await proc.ready()
    return proc
  }

  static spawn(options: {root: string; socket: string; name?: string; env?: NodeJS.ProcessEnv; extraArgs?: string[]}): ServeProcess {
    const name = options.name ?? `dot-test-${path.basename(path.dirname(options.socket))}`
    const child = spawn(
      process.execPath,
      [DOT_BIN, 'serve', '--name', name, '--socket', options.socket, '--root', options.root, '--log-level', 'debug', ...(options.extraArgs ?? [])],
      {env: {...process.env, NO_COLOR: '1', JOURNAL_STREAM: '', ...options.env}, stdio: ['ignore', 'pipe', 'pipe']},
    )
    return new ServeProcess(child, options.socket)
  }

  ready(timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dot serve not ready after ${timeoutMs} ms; stderr:\n${this.stderr}`)), timeoutMs)
      const check = () => {
        if (this.stdout.includes('listening on ')) {
          clearTimeout(timer)
          resolve()
        }
      }
      this.child.stdout!.on('data', check)
      check()
      void this.exited.then(({code, signal}) => {
        clearTimeout(timer)
        reject(new Error(`dot serve exited (code ${code}, signal ${signal}) before it was ready; stderr:\n${this.stderr}`))
      })
    })
  }

  /** Sends a signal and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal)
    return this.exited
  }

  call(endpoint: string, body?: unknown, options: CallOptions = {}): Promise<PluginAnswer> {
    return callPlugin(this.socket, endpoint, body, options)
  }
}

export interface CallOptions {
  raw?: boolean
  headers?: Record<string, string>
}

export interface PluginAnswer {
  status: number
  text: string
  /** The parsed JSON body (every answer must be JSON). */
  json: Record<string, unknown>
}

/**
 * POSTs to the plugin as dockerd does: no Content-Type, Accept v1.2, a body that ends in "\n" (Go's
 * json.Encoder). `body` is JSON-encoded unless `raw` (then sent as is; undefined sends an empty body).
 * `headers` adds to them (Podman's Content-Type, say).
 */
export function callPlugin(socketPath: string, endpoint: string, body?: unknown, options: CallOptions = {}): Promise<PluginAnswer> {
  const payload = body === undefined ? '' : options.raw ? String(body) : JSON.stringify(body) + '\n'
  return new Promise((resolve, reject) => {
    const req = http.request(
      {socketPath, path: endpoint, method: 'POST', headers: {Host: '', Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': Buffer.byteLength(payload), ...options.headers}},
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (text += d))
        res.on('end', () => {
          let json: Record<string, unknown>
          try {
            json = JSON.parse(text)
          } catch {
            reject(new Error(`answer to ${endpoint} is not JSON (status ${res.statusCode}): ${JSON.stringify(text)}`))
            return
          }
          resolve({status: res.statusCode ?? 0, text, json})
        })
      },
    )
    req.on('error', reject)
    req.end(payload)
  })
}
