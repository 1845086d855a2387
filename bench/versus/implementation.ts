import {type ChildProcess, spawn} from 'node:child_process'
import fs from 'node:fs'

import {DOT_BIN} from '../context.js'
import {RawPluginConnection} from '../plugin-client.js'

/** One of the two servers compared: how to start it on a given root and socket. */
export interface Implementation {
  label: string
  command(root: string, socket: string): {file: string; args: string[]; env: NodeJS.ProcessEnv}
}

/** `dot serve` as the service runs it (info logging, to a file). */
export const DOT: Implementation = {
  label: 'dot',
  command: (root, socket) => ({file: process.execPath, args: [DOT_BIN, 'serve', '--root', root, '--socket', socket], env: process.env}),
}

/**
 * The Go original, built with `DOT_ROOT` and `DOT_SOCKET` read from the environment (its upstream
 * main.go has them as constants). Its root must end in "/": it joins paths by concatenation.
 */
export function goOriginal(binary: string): Implementation {
  return {
    label: 'go',
    command: (root, socket) => ({file: binary, args: [], env: {...process.env, DOT_ROOT: root.endsWith('/') ? root : `${root}/`, DOT_SOCKET: socket}}),
  }
}

/** A started server: its process, and how long it took from exec to its first answered Activate. */
export class RunningServer {
  private exited: string | undefined

  private constructor(
    readonly child: ChildProcess,
    readonly socket: string,
    readonly startupMs: number,
  ) {}

  /** Starts `impl` in its own process group, its output appended to `logFile`; waits for its first answer. */
  static async start(impl: Implementation, root: string, socket: string, logFile: string): Promise<RunningServer> {
    fs.rmSync(socket, {force: true})
    const {file, args, env} = impl.command(root, socket)
    const log = fs.openSync(logFile, 'a')
    const started = performance.now()
    const child = spawn(file, args, {env, stdio: ['ignore', log, log], detached: true})
    fs.closeSync(log)
    let exited: string | undefined
    child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`))
    const deadline = started + 120_000
    for (;;) {
      if (exited) throw new Error(`${impl.label} ${exited} before answering; see ${logFile}`)
      if (performance.now() > deadline) {
        process.kill(-child.pid!, 'SIGKILL')
        throw new Error(`${impl.label} did not answer on ${socket} within 120 s; see ${logFile}`)
      }
      if (fs.existsSync(socket) && (await answers(socket))) break
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    const server = new RunningServer(child, socket, performance.now() - started)
    child.on('exit', (code, signal) => (server.exited = `exited with ${signal ?? code}`))
    return server
  }

  /** SIGTERM to its process group, SIGKILL after 10 s. */
  stop(): Promise<void> {
    const child = this.child
    if (this.exited || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => kill(child, 'SIGKILL'), 10_000)
      child.once('exit', () => {
        clearTimeout(timer)
        fs.rmSync(this.socket, {force: true})
        resolve()
      })
      kill(child, 'SIGTERM')
    })
  }
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal)
  } catch {
    // Already gone.
  }
}

async function answers(socket: string): Promise<boolean> {
  const connection = new RawPluginConnection(socket)
  try {
    const body = await connection.ok('Plugin.Activate')
    return JSON.stringify(body.Implements ?? []).includes('VolumeDriver')
  } catch {
    return false
  } finally {
    connection.close()
  }
}
