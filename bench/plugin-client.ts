import http from 'node:http'

export interface PluginReply {
  status: number
  body: Record<string, unknown>
}

/**
 * Speaks the plugin protocol the way dockerd does (PROTOCOL.md §1.5): POST /<Method> over a unix
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
