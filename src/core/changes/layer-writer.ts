import fs from 'node:fs/promises'
import path from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {DotError, errnoCode} from '../errors.js'
import {spawnTar} from '../recover/tar-process.js'
import {layerCreateArgs, OPAQUE_MARKER, TAR_END_BYTES, WHITEOUT_PREFIX} from './layer-format.js'

/** What goes into one layer tar: real entries from a directory, deletions as markers. */
export interface LayerContent {
  /** The directory the entries are read from (a merged view, or a base for a backup). */
  dir: string
  /** `./`-relative paths in `dir`, parents first; archived as they are, not recursed into. */
  entries: string[]
  /** Paths (`/a/b`) written as `a/.wh.b`. */
  whiteouts: string[]
  /** Directories (`/d`) written with a `d/.wh..wh..opq` marker. */
  opaques: string[]
}

export interface WriteResult {
  bytes: number
  /** GNU tar's "file changed as we read it" and the like: the source moved under the copy. */
  warnings: string[]
}

/**
 * Writes an OCI image layer tar to `out` (never ending it: it may be stdout).
 *
 * GNU tar writes the real entries: it already carries everything a volume can hold (types, modes,
 * numeric owners, nanosecond times in PAX records, xattrs as SCHILY.xattr, hard links, and sparse
 * files found with SEEK_HOLE), which no tar library for Node does (node-tar and tar-stream have no
 * sparse files, node-tar no xattrs). tar-stream writes the whiteout markers, which are empty regular
 * files no file system holds: GNU tar's stream, written with 512-byte records, ends in exactly two
 * zero blocks; those are held back, and tar-stream's entries and end-of-archive follow.
 */
export async function writeLayer(content: LayerContent, out: Writable, scratch: string, signal?: AbortSignal): Promise<WriteResult> {
  let bytes = 0
  const warnings: string[] = []
  const write = async (chunk: Buffer) => {
    bytes += chunk.length
    if (!out.write(chunk)) await waitDrain(out, signal)
  }
  if (content.entries.length > 0) {
    const listFile = path.join(scratch, 'layer-entries')
    await fs.writeFile(listFile, content.entries.join('\0') + '\0', {mode: 0o600})
    const create = spawnTar(layerCreateArgs(content.dir, listFile), ['ignore', 'pipe'])
    const stop = () => create.child.kill()
    signal?.addEventListener('abort', stop)
    try {
      await copyHoldingBack(create.child.stdout!, TAR_END_BYTES, write, signal)
    } catch (err) {
      create.child.kill()
      await create.done
      throw err
    } finally {
      signal?.removeEventListener('abort', stop)
    }
    const {code, stderr} = await create.done
    signal?.throwIfAborted()
    if (code === 1) warnings.push(`tar: ${stderr || 'some files changed while they were read'}`)
    else if (code !== 0) throw new DotError('internal', `writing the layer failed: ${stderr || `tar exited with ${code}`}`)
  }
  const {pack} = await import('tar-stream')
  const markers = pack()
  const done = (async () => {
    for await (const chunk of markers as AsyncIterable<Buffer>) await write(chunk)
  })()
  const marker = (name: string) => ({name, size: 0, mode: 0o600, uid: 0, gid: 0, mtime: new Date(0), type: 'file' as const})
  for (const p of content.whiteouts) markers.entry(marker(`.${path.posix.join(path.posix.dirname(p), WHITEOUT_PREFIX + path.posix.basename(p))}`), '')
  for (const d of content.opaques) markers.entry(marker(`.${d}/${OPAQUE_MARKER}`), '')
  markers.finalize()
  await done
  return {bytes, warnings}
}

/** Copies `src` through `write`, keeping its last `keep` bytes back (they must be zeros: the end blocks). */
async function copyHoldingBack(src: Readable, keep: number, write: (chunk: Buffer) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let held: Buffer = Buffer.alloc(0)
  for await (const chunk of src as AsyncIterable<Buffer>) {
    signal?.throwIfAborted()
    const all = held.length === 0 ? chunk : Buffer.concat([held, chunk])
    if (all.length <= keep) {
      held = all
      continue
    }
    await write(all.subarray(0, all.length - keep))
    held = Buffer.from(all.subarray(all.length - keep))
  }
  if (held.length !== keep || held.some((b) => b !== 0)) throw new DotError('internal', 'GNU tar did not end its archive with two zero blocks; cannot append the whiteout entries')
}

function waitDrain(out: Writable, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const finish = (err?: Error) => {
      out.off('drain', onDrain)
      out.off('error', onError)
      out.off('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (err) reject(err)
      else resolve()
    }
    const onDrain = () => finish()
    const onError = (err: Error) => finish(errnoCode(err) === 'EPIPE' ? new DotError('internal', 'the reader of the layer went away before it was complete (EPIPE)') : err)
    const onClose = () => finish(new DotError('internal', 'the output of the layer was closed before it was complete'))
    const onAbort = () => finish(signal!.reason as Error)
    out.on('drain', onDrain)
    out.on('error', onError)
    out.on('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}
