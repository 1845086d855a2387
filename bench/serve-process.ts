import {type ChildProcess, spawn} from 'node:child_process'
import fs from 'node:fs'

import {DOT_BIN} from './context.js'
import {PluginClient} from './plugin-client.js'

/** A `dot serve` child on a scratch root and socket, as the bench drives it. */
export interface ServeProcess {
  child: ChildProcess
  socket: string
  /** ms from spawn to the first answered request (/Plugin.Activate). */
  startupMs: number
  /** Resident set size now, from /proc/<pid>/status (MiB). */
  rssMiB(): number
  stop(): Promise<void>
}

export async function startServe(root: string, socket: string, options: {timeoutMs?: number} = {}): Promise<ServeProcess> {
  fs.rmSync(socket, {force: true})
  let stderr = ''
  const start = performance.now()
  const child = spawn(process.execPath, [DOT_BIN, 'serve', '--root', root, '--socket', socket, '--name', 'dot-bench', '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr?.on('data', (d) => (stderr += d))
  let exited: string | undefined
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`))
  const deadline = start + (options.timeoutMs ?? 60_000)
  for (;;) {
    if (exited) throw new Error(`dot serve ${exited} before answering: ${stderr.trim()}`)
    if (performance.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`dot serve did not answer on ${socket} in time: ${stderr.trim()}`)
    }
    if (await answers(socket)) break
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  const startupMs = performance.now() - start
  return {
    child,
    socket,
    startupMs,
    rssMiB: () => rssMiB(child.pid!),
    stop: () => stop(child),
  }
}

/** One Activate on a fresh connection; false while the socket is missing or refusing. */
async function answers(socket: string): Promise<boolean> {
  if (!fs.existsSync(socket)) return false
  const client = new PluginClient(socket)
  try {
    const reply = await client.call('Plugin.Activate')
    return reply.status === 200
  } catch {
    return false
  } finally {
    client.close()
  }
}

export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1])
  return kb / 1024
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
