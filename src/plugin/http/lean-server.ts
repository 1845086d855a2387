import net from 'node:net'

import {ParseError, type ParsedRequest, RequestParser} from './request-parser.js'

/** What the handler gets for each request: a way to answer it, and whether its client is still there. */
export interface Exchange {
  /** The client hung up (or half-closed, as Node's server treats it) before the answer was sent. */
  readonly gone: boolean
  /**
   * Sends `json` as the body, with `status` (200 unless given). `delivered`, if given, learns whether the answer was
   * handed to the kernel (false: the client had gone, nothing reached it).
   */
  answer(json: string, delivered?: (ok: boolean) => void, status?: number): void
}

export interface LeanServerOptions {
  maxBodyBytes: number
  /** A request whose head or body is not all there this long after its first byte: answered and closed. */
  requestTimeoutMs: number
  onRequest(request: ParsedRequest, exchange: Exchange): void
  /** The answer (a JSON body) to bytes that are not a request it can frame; the connection is then closed. */
  onUnreadable(code: string, message: string): string
  /** A client hung up after the head of a request and before the end of its body. */
  onIncomplete(url: string): void
}

const CONTENT_TYPE = 'application/vnd.docker.plugins.v1.2+json'
/** Unparsed bytes held while a request is in flight before reading from that client pauses. */
const MAX_BUFFERED_BYTES = 256 * 1024

/**
 * A unix-socket HTTP/1.1 server for exactly what dockerd sends a plugin: POST (any method is read the
 * same way), a body framed by Content-Length or chunked, keep-alive connections that are never timed
 * out while idle (§9.7), requests on one connection answered one at a time and in order (pipelined
 * ones wait in the buffer). Every answer is status 200 with a JSON body. It replaced node:http, whose
 * request and response objects, header maps and events were most of a no-op round trip's server time.
 */
export class LeanServer {
  private readonly server: net.Server
  private readonly connections = new Set<Connection>()
  closing = false

  constructor(readonly options: LeanServerOptions) {
    // Half-open: a client's EOF is seen as such (and treated as a hang-up), not answered by an auto-end.
    this.server = net.createServer({allowHalfOpen: true}, (socket) => {
      const connection = new Connection(socket, this)
      this.connections.add(connection)
      socket.once('close', () => this.connections.delete(connection))
    })
  }

  get net(): net.Server {
    return this.server
  }

  listen(path: string, onListening: () => void): void {
    this.server.listen({path}, onListening)
  }

  /** Stops accepting; connections end after their request in flight (`Connection: close`) or at once if idle. */
  close(onClosed: () => void): void {
    this.closing = true
    this.server.close(() => onClosed())
    for (const connection of this.connections) connection.endIfIdle()
  }

  closeAllConnections(): void {
    for (const connection of this.connections) connection.socket.destroy()
  }
}

class Connection {
  private readonly parser: RequestParser
  /** A request handed to the handler and not answered yet. */
  private busy = false
  /** Inside `pump`: an answer given synchronously lets the loop go on instead of recursing. */
  private pumping = false
  /** The client's side is closed (EOF, error or close): nothing more will be answered. */
  private gone = false
  private done = false
  private timer: NodeJS.Timeout | undefined
  private current: {gone: boolean} | undefined

  constructor(
    readonly socket: net.Socket,
    private readonly server: LeanServer,
  ) {
    this.parser = new RequestParser(server.options.maxBodyBytes)
    socket.on('data', (data: Buffer) => {
      if (this.done) return
      this.parser.push(data)
      this.pump()
    })
    socket.on('end', () => this.hangUp())
    socket.on('close', () => this.hangUp())
    socket.on('error', () => this.hangUp())
  }

  endIfIdle(): void {
    if (!this.busy && !this.parser.midRequest) this.finish()
  }

  private pump(): void {
    if (this.pumping) return
    this.pumping = true
    try {
      while (!this.busy && !this.done) {
        let request: ParsedRequest | undefined
        try {
          request = this.parser.next()
        } catch (err) {
          if (!(err instanceof ParseError)) throw err
          this.refuse(err.code, err.message)
          return
        }
        if (!request) break
        this.dispatch(request)
      }
    } finally {
      this.pumping = false
    }
    this.watch()
  }

  private dispatch(request: ParsedRequest): void {
    this.busy = true
    const state = {gone: false}
    this.current = state
    const keepAlive = request.keepAlive
    let answered = false
    const exchange: Exchange = {
      get gone() {
        return state.gone
      },
      answer: (json, delivered, status = 200) => {
        if (answered) return
        answered = true
        this.current = undefined
        if (state.gone || this.socket.destroyed || !this.socket.writable) {
          delivered?.(false)
        } else {
          const close = !keepAlive || this.server.closing
          const head = `HTTP/1.1 ${status === 200 ? '200 OK' : `${status} Internal Server Error`}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: ${CONTENT_TYPE}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`
          if (delivered) this.socket.write(head + json, (err) => delivered(!err))
          else this.socket.write(head + json)
          if (close) this.finish()
        }
        this.busy = false
        if (this.gone) this.finish()
        else if (!this.done) this.pump()
      },
    }
    this.server.options.onRequest(request, exchange)
  }

  /** Arms the request timeout while part of a request is held, pauses reading while too much waits. */
  private watch(): void {
    if (this.done) return
    const waiting = !this.busy && this.parser.midRequest
    if (waiting && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        if (!this.busy && this.parser.midRequest) this.refuse('HPE_HEADER_TIMEOUT', `request not complete after ${this.server.options.requestTimeoutMs / 1000} s`)
      }, this.server.options.requestTimeoutMs)
      this.timer.unref()
    } else if (!waiting && this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.busy && this.parser.buffered > MAX_BUFFERED_BYTES) this.socket.pause()
    else if (this.socket.isPaused()) this.socket.resume()
  }

  /** Unreadable bytes: one JSON answer, then the connection closes (what follows cannot be framed). */
  private refuse(code: string, message: string): void {
    if (this.done) return
    const json = this.server.options.onUnreadable(code, message)
    if (this.socket.writable) {
      this.socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`)
    }
    this.finish()
  }

  private hangUp(): void {
    if (this.gone) return
    this.gone = true
    if (this.current) this.current.gone = true
    const incomplete = this.parser.inBody
    if (incomplete !== undefined && !this.busy) this.server.options.onIncomplete(incomplete)
    if (!this.busy) this.finish()
  }

  /** Ends our side once what was written is flushed; reads nothing more. */
  private finish(): void {
    if (this.done) return
    this.done = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.socket.destroyed) return
    this.socket.end(() => this.socket.destroy())
    this.socket.resume()
  }
}
