import http from 'node:http'
import net from 'node:net'

export interface PluginReply {
  status: number
  body: Record<string, unknown>
}

/**
 * Speaks the plugin protocol the way dockerd does (docs/plugin-protocol.md §1.5): POST /<Method> over a unix
 * socket, keep-alive, a JSON body ending in "\n", no Content-Type. `connections` caps the sockets kept
 * open, so one client measures one connection's round trips and a larger pool drives concurrency.
 */
export class PluginClient {
  private readonly agent: http.Agent

  constructor(
    readonly socketPath: string,
    connections = 1,
  ) {
    this.agent = new http.Agent({keepAlive: true, maxSockets: connections})
  }

  call(method: string, body?: unknown): Promise<PluginReply> {
    const payload = body === undefined ? '' : JSON.stringify(body) + '\n'
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method: 'POST',
          path: `/${method}`,
          headers: {Host: '', Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': Buffer.byteLength(payload)},
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            try {
              resolve({status: res.statusCode ?? 0, body: (JSON.parse(text) ?? {}) as Record<string, unknown>})
            } catch {
              reject(new Error(`${method}: answer is not JSON (status ${res.statusCode}): ${text.slice(0, 200)}`))
            }
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  }

  /** Calls `method` and fails on an HTTP error or a non-empty `Err`: the bench measures successes only. */
  async ok(method: string, body?: unknown): Promise<Record<string, unknown>> {
    const reply = await this.call(method, body)
    if (reply.status !== 200 || (typeof reply.body.Err === 'string' && reply.body.Err !== '')) {
      throw new Error(`${method} ${JSON.stringify(body)}: ${reply.status} ${JSON.stringify(reply.body)}`)
    }
    return reply.body
  }

  close(): void {
    this.agent.destroy()
  }
}

/**
 * One keep-alive connection speaking just enough HTTP/1.1 to time the server: writes the request as
 * dockerd would and reads the answer by its Content-Length. Node's http client adds ~0.1 ms of its own
 * per call on this machine; this keeps the measuring instrument out of the protocol rows.
 */
export class RawPluginConnection {
  private socket: net.Socket | undefined
  private buffer: Buffer = Buffer.alloc(0)
  private waiting: ((reply: PluginReply | Error) => void) | undefined

  constructor(readonly socketPath: string) {}

  async ok(method: string, body?: unknown): Promise<Record<string, unknown>> {
    const reply = await this.call(method, body)
    if (reply.status !== 200 || (typeof reply.body.Err === 'string' && reply.body.Err !== '')) {
      throw new Error(`${method} ${JSON.stringify(body)}: ${reply.status} ${JSON.stringify(reply.body)}`)
    }
    return reply.body
  }

  async call(method: string, body?: unknown): Promise<PluginReply> {
    if (this.waiting) throw new Error('RawPluginConnection: one request at a time')
    const socket = this.socket ?? (await this.connect())
    const payload = body === undefined ? '' : JSON.stringify(body) + '\n'
    const head = `POST /${method} HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n\r\n`
    const answer = new Promise<PluginReply | Error>((resolve) => (this.waiting = resolve))
    socket.write(head + payload)
    const result = await answer
    if (result instanceof Error) throw result
    return result
  }

  close(): void {
    this.socket?.destroy()
    this.socket = undefined
  }

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(this.socketPath, () => resolve(socket))
      socket.setNoDelay(true)
      socket.on('error', (err) => {
        reject(err)
        this.settle(err)
      })
      socket.on('close', () => {
        this.socket = undefined
        this.settle(new Error('connection closed by the server'))
      })
      socket.on('data', (chunk: Buffer) => {
        this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
        this.parse()
      })
      this.socket = socket
    })
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n')
    if (end < 0) return
    const head = this.buffer.subarray(0, end).toString('latin1')
    const status = Number(head.slice(9, 12))
    let body: Buffer
    let consumed: number
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      // Go's net/http chunks an answer it did not size up front (a List of many volumes).
      const chunks: Buffer[] = []
      let at = end + 4
      for (;;) {
        const lineEnd = this.buffer.indexOf('\r\n', at)
        if (lineEnd < 0) return
        const size = Number.parseInt(this.buffer.subarray(at, lineEnd).toString('latin1'), 16)
        if (this.buffer.length < lineEnd + 2 + size + 2) return
        if (size === 0) {
          consumed = lineEnd + 4
          break
        }
        chunks.push(this.buffer.subarray(lineEnd + 2, lineEnd + 2 + size))
        at = lineEnd + 2 + size + 2
      }
      body = Buffer.concat(chunks)
    } else {
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0)
      if (this.buffer.length < end + 4 + length) return
      body = this.buffer.subarray(end + 4, end + 4 + length)
      consumed = end + 4 + length
    }
    const text = body.toString('utf8')
    this.buffer = this.buffer.subarray(consumed)
    try {
      this.settle({status, body: (JSON.parse(text) ?? {}) as Record<string, unknown>})
    } catch {
      this.settle(new Error(`answer is not JSON (status ${status}): ${text.slice(0, 200)}`))
    }
  }


  private settle(result: PluginReply | Error): void {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.(result)
  }
}
