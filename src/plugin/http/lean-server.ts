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

const REASONS: Record<number, string> = {200: 'OK', 400: 'Bad Request', 404: 'Not Found', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error'}
/** The status of a refusal of bytes that cannot be framed, by llhttp error name (clients see the JSON body too). */
const UNREADABLE_STATUS: Record<string, number> = {HPE_HEADER_OVERFLOW: 431, HPE_HEADER_TIMEOUT: 408}

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
 * ones wait in the buffer), `Expect: 100-continue` honoured. Every answer has a JSON body (HEAD: its
 * head only). It replaced node:http, whose request and response objects, header maps and events were
 * most of a no-op round trip's server time.
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
  /** Answered with `Connection: close` while its body is still arriving: close once it is read. */
  private closeAfterBody = false

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
        if (this.parser.continuePending) {
          // Sent before the body is read, as Go's server does; a client that already sent it ignores it.
          this.parser.continuePending = false
          this.socket.write('HTTP/1.1 100 Continue\r\n\r\n')
        }
        if (this.closeAfterBody) {
          if (request || !this.parser.draining) this.finish()
          if (request) return
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
          // A body over the limit that the client holds back for a 100 Continue will never come: close.
          const close = !keepAlive || this.server.closing || (request.tooLarge && request.expectContinue)
          const head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nContent-Type: ${CONTENT_TYPE}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`
          const whole = request.method === 'HEAD' ? head : head + json
          if (delivered) this.socket.write(whole, (err) => delivered(!err))
          else this.socket.write(whole)
          // Closing while a refused body still arrives would reset the client before it reads the answer.
          if (close && this.parser.draining && !request.expectContinue) this.closeAfterBody = true
          else if (close) this.finish()
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
    // The connection already had its last answer: what follows is not answered.
    if (this.closeAfterBody) return this.finish()
    const json = this.server.options.onUnreadable(code, message)
    if (this.socket.writable) {
      const status = UNREADABLE_STATUS[code] ?? 400
      this.socket.write(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`)
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
