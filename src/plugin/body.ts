import type {IncomingMessage} from 'node:http'

import {RequestError} from './errors.js'
import type {RequestBody} from './wire.js'

/** Requests are a name, an ID and a few options; anything bigger is refused unread (with an Err). */
export const MAX_BODY_BYTES = 1024 * 1024

export interface RawBody {
  text: string
  /** The client sent more than MAX_BODY_BYTES; `text` is empty then. */
  tooLarge: boolean
}

/**
 * Reads at most MAX_BODY_BYTES. On overflow it stops collecting at once and resolves, so the caller
 * answers Err instead of buffering an unbounded body; the rest is discarded by the HTTP layer.
 */
export function readBody(req: IncomingMessage): Promise<RawBody> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
      resolve({text: '', tooLarge: true})
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (body: RawBody) => {
      if (done) return
      done = true
      req.off('data', onData)
      resolve(body)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        chunks.length = 0
        finish({text: '', tooLarge: true})
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.on('end', () => finish({text: Buffer.concat(chunks).toString('utf8'), tooLarge: false}))
    const fail = (err: Error) => {
      if (done) return
      done = true
      req.off('data', onData)
      reject(err)
    }
    req.on('error', fail)
    // A client that vanishes mid-body may end the stream with neither 'end' nor 'error'.
    // Built only when it is one: 'close' follows every request, and an Error captures a stack trace.
    req.on('close', () => {
      if (!done) fail(new ClientGoneError())
    })
  })
}

/** The client closed the connection before its request body was complete. */
export class ClientGoneError extends Error {
  constructor() {
    super('the client closed the connection before sending the whole request')
    this.name = 'ClientGoneError'
  }
}

/**
 * Parses the JSON object a VolumeDriver call carries. dockerd retries a dropped connection with an
 * empty body (docs/plugin-protocol.md §1.4), so an empty body is a clear Err, never a crash or a silent success.
 */
export function parseBody(raw: RawBody): RequestBody {
  if (raw.tooLarge) throw new RequestError(`request body is larger than ${MAX_BODY_BYTES} bytes; a volume request is a small JSON object`)
  const text = raw.text.trim()
  if (text === '') {
    throw new RequestError('empty request body; expected a JSON object such as {"Name": "myvol"} (dockerd sends an empty body when it retries a dropped request)')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new RequestError(`request body is not valid JSON: ${(err as Error).message}`)
  }
  if (json === null) return {}
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw new RequestError(`request body must be a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`)
  }
  return json as RequestBody
}
