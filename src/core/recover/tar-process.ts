import {type ChildProcess, spawn} from 'node:child_process'
import type {Readable, Writable} from 'node:stream'

/** A spawned GNU tar whose stderr is kept for the error message. */
export interface TarProcess {
  child: ChildProcess
  /** Resolves with the exit status (signals count as 128+n) and stderr, never rejects. */
  done: Promise<{code: number; stderr: string}>
}

export function spawnTar(args: string[], stdio: ['ignore' | 'pipe', 'ignore' | 'pipe']): TarProcess {
  const child = spawn('tar', args, {stdio: [stdio[0], stdio[1], 'pipe']})
  let stderr = ''
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d
  })
  const done = new Promise<{code: number; stderr: string}>((resolve) => {
    child.on('error', (err) => resolve({code: 127, stderr: `cannot run tar: ${err.message}`}))
    child.on('close', (code, signal) => resolve({code: code ?? 128 + (signal ? 15 : 0), stderr: stderr.trim()}))
  })
  return {child, done}
}

/**
 * Copies `src` into `dst` honouring back-pressure, counting bytes; ends `dst` only when asked (never
 * process.stdout). Rejects with the first error of either side (EPIPE when the reader went away).
 */
export async function copyCounting(src: Readable, dst: Writable, onBytes: (n: number) => void, end: boolean, signal?: AbortSignal): Promise<void> {
  let failure: Error | undefined
  const onError = (err: Error) => (failure ??= err)
  dst.on('error', onError)
  try {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      if (failure) throw failure
      onBytes(chunk.length)
      // An abort must also end the wait: the reader may never drain (a stalled pipe).
      if (!dst.write(chunk)) await firstOf(dst, ['drain', 'close'], signal)
      signal?.throwIfAborted()
      if (failure) throw failure
    }
    if (end) {
      dst.end()
      await firstOf(dst, ['finish', 'close'])
    }
    if (failure) throw failure
  } finally {
    dst.off('error', onError)
  }
}

/** Resolves at the first of `events` (or an error, or an abort), removing every listener it added. */
function firstOf(emitter: Writable, events: string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      for (const event of [...events, 'error']) emitter.off(event, done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    for (const event of [...events, 'error']) emitter.on(event, done)
    signal?.addEventListener('abort', done)
  })
}
