import fs from 'node:fs'
import path from 'node:path'
import type {Readable, Writable} from 'node:stream'

import {DotError, invalid} from '../errors.js'
import {spawnTar} from '../recover/tar-process.js'
import {makeWhiteout, setOpaque, setTimes} from './fs-calls.js'
import {LayerChecker, type LayerHeader, type LayerPolicy} from './layer-check.js'
import {layerExtractArgs, OPAQUE_MARKER, WHITEOUT_PREFIX} from './layer-format.js'

export interface ExtractResult {
  entries: number
  /** Whether the layer has an entry for the volume's root (`./`), whose metadata it then sets. */
  hasRoot: boolean
  whiteouts: number
  opaques: number
}

/**
 * Extracts an OCI layer from `input` into `dir` (new, empty, on the volume's file system) and turns it
 * into overlayfs's form: `.wh.NAME` becomes a whiteout (a 0:0 character device), `.wh..wh..opq` the
 * opaque mark of its directory. The stream goes to GNU tar (which writes every kind of entry with its
 * metadata, sparse files included) and, at the same time, through tar-stream's parser, which checks
 * each header (`LayerChecker`); the first refusal kills tar. Either failure, and a truncated stream,
 * rejects: the caller then deletes `dir`, which is all that was written.
 */
export async function extractLayer(input: Readable, dir: string, policy: LayerPolicy, signal?: AbortSignal): Promise<ExtractResult> {
  const checker = new LayerChecker(policy)
  const tar = spawnTar(layerExtractArgs(dir), ['pipe', 'ignore'])
  const {extract} = await import('tar-stream')
  const parser = extract()
  let refusal: Error | undefined
  // A refusal stops the reading too: a writer that stalls (a stdin left open) must not hold the import.
  const refuse = (err: Error) => {
    refusal ??= err
    tar.child.kill()
    input.destroy()
  }
  const parsed = new Promise<void>((resolve) => {
    parser.on('entry', (header, stream, next) => {
      try {
        checker.check(header as LayerHeader)
      } catch (err) {
        refuse(err as Error)
      }
      stream.on('end', next)
      // A truncated stream errors here and on the parser: the parser's error is the one reported.
      stream.on('error', () => {})
      stream.resume()
    })
    parser.on('finish', resolve)
    parser.on('error', (err: Error) => {
      refuse(invalid(`the layer is not a valid tar stream (${err.message}); nothing was changed`))
      resolve()
    })
  })
  const stop = () => refuse(new DotError('internal', 'import interrupted; the volume is unchanged'))
  signal?.addEventListener('abort', stop)
  // GNU tar exits at the archive's end marker and reads no further: so does the feed, or a source
  // that never ends (/dev/zero, a stdin left open after the archive) would be read forever.
  let tarExited = false
  tar.child.once('exit', () => {
    tarExited = true
    input.destroy() // ends a feed waiting for bytes that may never come
  })
  try {
    const parserIn = parser as unknown as Writable
    await feed(input, [tar.child.stdin!, parserIn], () => refusal !== undefined || tarExited).catch((err: Error) => {
      if (refusal === undefined && !tarExited) throw err
    })
    parserIn.end()
    await parsed
    tar.child.stdin!.end()
    const {code, stderr} = await tar.done
    if (refusal) throw refusal
    if (code !== 0) throw invalid(`the layer could not be extracted: ${stderr || `tar exited with ${code}`}; nothing was changed`)
  } finally {
    signal?.removeEventListener('abort', stop)
    tar.child.kill()
  }
  const counts = convertMarkers(dir, checker.dirMtimes)
  return {entries: checker.entries, hasRoot: checker.hasRoot, ...counts}
}

/** Writes each chunk of `input` to every output, honouring back-pressure, until done or `stopped()`. */
async function feed(input: Readable, outputs: Writable[], stopped: () => boolean): Promise<void> {
  const ignore = () => {}
  for (const out of outputs) out.on('error', ignore)
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (stopped()) break
    const waits = outputs.filter((out) => !out.destroyed && !out.write(chunk)).map((out) => new Promise<void>((resolve) => {
      // Both listeners go once either fires: one left per chunk would pile up over a long stream.
      const done = () => {
        out.off('drain', done)
        out.off('close', done)
        resolve()
      }
      out.on('drain', done)
      out.on('close', done)
    }))
    await Promise.all(waits)
    if (stopped()) break
  }
}

/** The OCI markers of an extracted layer turned into overlayfs's whiteouts and opaque marks, in place. */
function convertMarkers(root: string, archivedMtimes: Map<string, bigint>): {whiteouts: number; opaques: number} {
  const counts = {whiteouts: 0, opaques: 0}
  const walk = (dir: string) => {
    const names = fs.readdirSync(dir)
    const markers = names.filter((n) => n.startsWith(WHITEOUT_PREFIX))
    if (markers.length > 0) {
      // Extracting the markers, unlinking them and mknod changed the directory's times: set the archived ones.
      const st = fs.lstatSync(dir, {bigint: true})
      const mtime = archivedMtimes.get(path.relative(root, dir)) ?? st.mtimeNs
      for (const marker of markers) {
        fs.unlinkSync(path.join(dir, marker))
        if (marker === OPAQUE_MARKER) {
          setOpaque(dir)
          counts.opaques++
          continue
        }
        const target = marker.slice(WHITEOUT_PREFIX.length)
        // The same layer holding both NAME and .wh.NAME: the entry wins (it was written after the deletion).
        if (names.includes(target)) continue
        makeWhiteout(path.join(dir, target))
        counts.whiteouts++
      }
      setTimes(dir, st.atimeNs, mtime)
    }
    for (const name of names) {
      if (name.startsWith(WHITEOUT_PREFIX)) continue
      const full = path.join(dir, name)
      if (fs.lstatSync(full).isDirectory()) walk(full)
    }
  }
  walk(root)
  return counts
}
