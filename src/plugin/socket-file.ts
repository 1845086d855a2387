import fs from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'

import {makeDirs} from '../core/disk/make-dirs.js'
import {busy, errnoCode, invalid} from '../core/errors.js'
import {refusePseudoFilesystem} from '../core/kernel/pseudo-fs.js'

/** Where dockerd looks first for a legacy plugin called `name` (docs/plugin-protocol.md §1.1). */
export function defaultSocketPath(name: string): string {
  return `/run/docker/plugins/${name}.sock`
}

/** How long a live server has to accept our probe connection. */
const PROBE_TIMEOUT_MS = 1000

/**
 * Makes `socketPath` free to listen on: creates its directory, refuses if a live server answers there
 * (two plugins on one socket would share no queue and stack overlays), removes a stale socket left by a
 * crash (the Go original left it and could not restart), and never deletes anything that is not a socket.
 * Returns what it did, for the log.
 */
export async function prepareSocket(socketPath: string): Promise<'fresh' | 'stale-removed'> {
  // No socket can be made on /proc, /sys and their kind, and Node's recursive mkdir spins forever on
  // their ENOENT: refused by name, and the directory made one component at a time (the kernel's error).
  refusePseudoFilesystem(path.dirname(socketPath), "the socket's directory")
  makeDirs(path.dirname(socketPath), 0o755)
  let stat
  try {
    stat = await fs.lstat(socketPath)
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'fresh'
    throw err
  }
  if (!stat.isSocket()) {
    throw invalid(`${socketPath} exists and is not a socket; refusing to replace it (remove it, or choose another --socket)`, {socket: socketPath})
  }
  if (await answers(socketPath)) {
    throw busy(`another server is already listening on ${socketPath}; stop it first (systemctl stop docker-on-top), or choose another --name or --socket`, {
      socket: socketPath,
    })
  }
  await fs.rm(socketPath, {force: true})
  return 'stale-removed'
}

/** Whether something accepts connections on the socket. ECONNREFUSED means a socket file with no listener. */
export function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect({path: socketPath})
    const done = (alive: boolean) => {
      clearTimeout(timer)
      conn.destroy()
      resolve(alive)
    }
    // A listener whose accept queue is full still counts as alive: only refusal proves it stale.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS)
    conn.once('connect', () => done(true))
    conn.once('error', (err) => done(errnoCode(err) !== 'ECONNREFUSED' && errnoCode(err) !== 'ENOENT'))
  })
}
