import http from 'node:http'

/** One HTTP request over a unix socket, resolving with the status and body; rejects on timeout. */
export function unixRequest(socketPath: string, method: 'GET' | 'POST', urlPath: string, timeoutMs: number): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = http.request({socketPath, method, path: urlPath, agent: false, timeout: timeoutMs, headers: {'Content-Length': 0}}, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, body}))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}
