/**
 * An incremental parser for the part of HTTP/1.1 that dockerd speaks to a plugin (docs/plugin-protocol.md §1.5):
 * a request line, headers, and a body framed by Content-Length or chunked transfer coding. Pipelined
 * requests are taken one after another from the same buffer. Anything it cannot frame safely is a
 * ParseError (the connection is answered once and closed); llhttp's error names are kept.
 */

import {ParseError, parseHeaders, parseRequestLine} from './request-head.js'

export {ParseError} from './request-head.js'

/** Request line and headers together; over this is HPE_HEADER_OVERFLOW (Node's default limit). */
export const MAX_HEAD_BYTES = 16 * 1024
/** A chunk-size line (hex size and extensions). */
const MAX_CHUNK_LINE_BYTES = 1024

export interface ParsedRequest {
  method: string
  /** The request target as sent (`/VolumeDriver.Get`, perhaps with a query). */
  url: string
  /** Whether the connection stays open after the answer (HTTP/1.1 unless `Connection: close`). */
  keepAlive: boolean
  /** The Content-Type header, if sent (Podman sends one, dockerd never does). */
  contentType?: string
  body: Buffer
  /** The body went over the limit: `body` is empty, the rest of it is read and dropped. */
  tooLarge: boolean
  /** `Expect: 100-continue` (HTTP/1.1): the client may hold its body back until told to send it. */
  expectContinue: boolean
}

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer'

const EMPTY = Buffer.alloc(0)

/**
 * Feed bytes with `push`, take complete requests with `next` (undefined: more bytes needed). A body
 * over `maxBody` is not kept: its request is returned as soon as that is known (so the refusal need
 * not wait for the rest), and the rest of the body is consumed before the next request starts.
 */
export class RequestParser {
  private buf: Buffer = EMPTY
  private state: State = 'head'
  private current: {method: string; url: string; keepAlive: boolean; contentType?: string; expectContinue: boolean; chunks: Buffer[]; size: number; tooLarge: boolean} | undefined
  /** Body bytes (or bytes of the current chunk) still to come. */
  private remaining = 0
  /** A too-large request already handed out, whose body is still being consumed. */
  private emitted = false

  /** A head asking for `100 Continue` was just read and its body is still to come: the server sends it. */
  continuePending = false

  constructor(private readonly maxBody: number) {}

  push(data: Buffer): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data])
  }

  /** Bytes of a request not complete yet are held (its head, or part of its body). */
  get midRequest(): boolean {
    return this.state !== 'head' || this.buf.length > 0
  }

  /** Whether the request being read has a complete head (its endpoint is known). */
  get inBody(): string | undefined {
    return this.state !== 'head' && !this.emitted ? this.current?.url : undefined
  }

  /** A body is being read (or dropped, once over the limit). */
  get draining(): boolean {
    return this.state !== 'head'
  }

  /** Bytes buffered and not parsed yet. */
  get buffered(): number {
    return this.buf.length
  }

  next(): ParsedRequest | undefined {
    for (;;) {
      const step = this.step()
      if (step === 'more') return undefined
      if (step !== 'again') return step
    }
  }

  private step(): ParsedRequest | 'more' | 'again' {
    switch (this.state) {
      case 'head':
        return this.head()
      case 'length': {
        const take = Math.min(this.remaining, this.buf.length)
        if (take > 0) this.body(this.buf.subarray(0, take))
        this.buf = this.buf.subarray(take)
        this.remaining -= take
        if (this.remaining > 0) return this.overflowed() ?? 'more'
        return this.finish()
      }
      case 'chunk-size': {
        const line = this.line(MAX_CHUNK_LINE_BYTES, 'HPE_INVALID_CHUNK_SIZE', 'chunk size line too long')
        if (line === undefined) return 'more'
        const hex = line.split(';')[0].trim()
        if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new ParseError('HPE_INVALID_CHUNK_SIZE', `invalid chunk size ${JSON.stringify(hex.slice(0, 20))}`)
        this.remaining = parseInt(hex, 16)
        this.state = this.remaining === 0 ? 'trailer' : 'chunk-data'
        return 'again'
      }
      case 'chunk-data': {
        const take = Math.min(this.remaining, this.buf.length)
        if (take === 0) return 'more'
        this.body(this.buf.subarray(0, take))
        this.buf = this.buf.subarray(take)
        this.remaining -= take
        if (this.remaining === 0) this.state = 'chunk-crlf'
        return this.overflowed() ?? 'again'
      }
      case 'chunk-crlf': {
        if (this.buf.length < 2) return 'more'
        if (this.buf[0] !== 0x0d || this.buf[1] !== 0x0a) throw new ParseError('HPE_STRICT', 'chunk data not followed by CRLF')
        this.buf = this.buf.subarray(2)
        this.state = 'chunk-size'
        return 'again'
      }
      case 'trailer': {
        const line = this.line(MAX_HEAD_BYTES, 'HPE_HEADER_OVERFLOW', 'trailer too long')
        if (line === undefined) return 'more'
        return line === '' ? this.finish() : 'again'
      }
    }
  }

  /** One CRLF-terminated line, or undefined when it is not all here yet. */
  private line(max: number, code: string, what: string): string | undefined {
    const end = this.buf.indexOf('\r\n')
    if (end < 0) {
      if (this.buf.length > max) throw new ParseError(code, what)
      return undefined
    }
    if (end > max) throw new ParseError(code, what)
    const line = this.buf.toString('latin1', 0, end)
    this.buf = this.buf.subarray(end + 2)
    return line
  }

  private head(): 'more' | 'again' | ParsedRequest {
    // Blank lines before a request line are allowed (RFC 9112 §2.2).
    while (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) this.buf = this.buf.subarray(2)
    if (this.buf.length === 0) return 'more'
    const end = this.buf.indexOf('\r\n\r\n')
    if (end < 0) {
      if (this.buf.length > MAX_HEAD_BYTES) throw new ParseError('HPE_HEADER_OVERFLOW', `request head over ${MAX_HEAD_BYTES} bytes`)
      // Fail early on what can never become a request line (a client speaking something else).
      const firstLine = this.buf.indexOf('\r\n')
      if (firstLine >= 0) parseRequestLine(this.buf.toString('latin1', 0, firstLine))
      return 'more'
    }
    if (end > MAX_HEAD_BYTES) throw new ParseError('HPE_HEADER_OVERFLOW', `request head over ${MAX_HEAD_BYTES} bytes`)
    const lines = this.buf.toString('latin1', 0, end).split('\r\n')
    this.buf = this.buf.subarray(end + 4)
    const {method, url, minor} = parseRequestLine(lines[0])
    const headers = parseHeaders(lines)
    const connection = (headers.get('connection') ?? '').toLowerCase().split(',').map((t) => t.trim())
    const keepAlive = minor === 1 ? !connection.includes('close') : connection.includes('keep-alive')
    const expectContinue = minor === 1 && (headers.get('expect') ?? '').toLowerCase() === '100-continue'
    this.current = {method, url, keepAlive, contentType: headers.get('content-type'), expectContinue, chunks: [], size: 0, tooLarge: false}
    this.emitted = false
    const te = headers.get('transfer-encoding')
    const cl = headers.get('content-length')
    if (te !== undefined) {
      // Both framings at once is how requests get smuggled; llhttp refuses it too.
      if (cl !== undefined) throw new ParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'both Content-Length and Transfer-Encoding')
      if (te.toLowerCase().split(',').pop()?.trim() !== 'chunked') throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', `unsupported Transfer-Encoding ${JSON.stringify(te)}`)
      this.state = 'chunk-size'
      this.continuePending = expectContinue
      return 'again'
    }
    if (cl === undefined) return this.finish()
    if (!/^\d{1,15}$/.test(cl)) throw new ParseError('HPE_INVALID_CONTENT_LENGTH', `invalid Content-Length ${JSON.stringify(cl.slice(0, 20))}`)
    this.remaining = Number(cl)
    this.state = 'length'
    if (this.remaining > this.maxBody) {
      this.current.tooLarge = true
      this.emitted = true
      return this.request(EMPTY)
    }
    this.continuePending = expectContinue && this.remaining > 0
    return 'again'
  }

  private body(data: Buffer): void {
    const current = this.current!
    current.size += data.length
    if (current.tooLarge) return
    if (current.size > this.maxBody) {
      current.tooLarge = true
      current.chunks = []
      return
    }
    current.chunks.push(data)
  }

  /** A chunked body just went over the limit: hand its request out now (once), keep consuming. */
  private overflowed(): ParsedRequest | undefined {
    if (!this.current!.tooLarge || this.emitted) return undefined
    this.emitted = true
    return this.request(EMPTY)
  }

  private finish(): ParsedRequest | 'again' {
    const current = this.current!
    const emitted = this.emitted
    this.state = 'head'
    this.current = undefined
    this.emitted = false
    if (emitted) return 'again'
    // Copied out: the chunks are views of socket buffers that the next requests share.
    const body = current.chunks.length === 1 ? Buffer.from(current.chunks[0]) : Buffer.concat(current.chunks)
    return {method: current.method, url: current.url, keepAlive: current.keepAlive, contentType: current.contentType, body, tooLarge: false, expectContinue: current.expectContinue}
  }

  private request(body: Buffer): ParsedRequest {
    const current = this.current!
    return {method: current.method, url: current.url, keepAlive: current.keepAlive, contentType: current.contentType, body, tooLarge: current.tooLarge, expectContinue: current.expectContinue}
  }
}
