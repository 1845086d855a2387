import assert from 'node:assert/strict'
import net from 'node:net'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {type Exchange, LeanServer} from '../../src/plugin/http/lean-server.js'
import type {ParsedRequest} from '../../src/plugin/http/request-parser.js'
import {TempRoot} from '../helpers/temp-root.js'

/**
 * The plugin's HTTP/1.1 server on a real unix socket, driven byte by byte: framing (Content-Length,
 * chunked), pipelining, keep-alive, oversized and malformed requests, slow and vanishing clients.
 * The handler echoes what it was given; `/slow` answers after 100 ms, `/hold` when released.
 */
describe('lean HTTP server', () => {
  const tmp = new TempRoot('dot-test-lean-http-')
  const socket = path.join(tmp.dir, 'http.sock')
  const incomplete: string[] = []
  const unreadable: string[] = []
  const held: {exchange: Exchange; delivered?: boolean}[] = []
  let server: LeanServer

  before(async () => {
    server = new LeanServer({
      maxBodyBytes: 1000,
      requestTimeoutMs: 300,
      onRequest: (request: ParsedRequest, exchange: Exchange) => {
        const echo = () => JSON.stringify({method: request.method, url: request.url, body: request.body.toString('utf8'), tooLarge: request.tooLarge})
        if (request.url === '/slow') setTimeout(() => exchange.answer(echo()), 100)
        else if (request.url === '/hold') held.push({exchange})
        else if (request.url === '/status') exchange.answer(echo(), undefined, 404)
        else exchange.answer(echo())
      },
      onUnreadable: (code) => {
        unreadable.push(code)
        return JSON.stringify({Err: code})
      },
      onIncomplete: (url) => incomplete.push(url),
    })
    await new Promise<void>((resolve) => server.listen(socket, resolve))
  })
  after(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(resolve))
    tmp.cleanup()
  })

  test('a Content-Length request on a kept-alive connection, twice', async () => {
    const client = await Client.open(socket)
    client.write('POST /VolumeDriver.Get HTTP/1.1\r\nHost: \r\nContent-Length: 16\r\n\r\n{"Name":"vol1"}\n')
    const first = await client.answers(1)
    assert.match(first[0].head, /^HTTP\/1\.1 200 OK\r\n/)
    assert.match(first[0].head, /Content-Type: application\/vnd\.docker\.plugins\.v1\.2\+json/)
    assert.doesNotMatch(first[0].head, /Connection: close/i)
    assert.deepEqual(JSON.parse(first[0].body), {method: 'POST', url: '/VolumeDriver.Get', body: '{"Name":"vol1"}\n', tooLarge: false})
    client.write('POST /VolumeDriver.List HTTP/1.1\r\nHost: \r\nContent-Length: 0\r\n\r\n')
    assert.equal(JSON.parse((await client.answers(2))[1].body).url, '/VolumeDriver.List')
    assert.equal(client.closed, false)
    client.destroy()
  })

  test('a request split into single bytes is read whole', async () => {
    const client = await Client.open(socket)
    const request = 'POST /a HTTP/1.1\r\nHost: \r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nX-Trailer: 1\r\n\r\n'
    for (const ch of request) {
      client.write(ch)
      await new Promise((resolve) => setImmediate(resolve))
    }
    const [answer] = await client.answers(1)
    assert.equal(JSON.parse(answer.body).body, 'hello!')
    client.destroy()
  })

  test('pipelined requests are answered one at a time, in order, even when the first is slow', async () => {
    const client = await Client.open(socket)
    client.write('POST /slow HTTP/1.1\r\nContent-Length: 1\r\n\r\nAPOST /b HTTP/1.1\r\nContent-Length: 1\r\n\r\nBPOST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nC\r\n0\r\n\r\n')
    const answers = await client.answers(3)
    assert.deepEqual(
      answers.map((a) => JSON.parse(a.body).body),
      ['A', 'B', 'C'],
    )
    client.destroy()
  })

  test('Connection: close and HTTP/1.0 get their answer, then the server closes', async () => {
    for (const head of ['POST /x HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 'POST /x HTTP/1.0\r\nContent-Length: 0\r\n\r\n']) {
      const client = await Client.open(socket)
      client.write(head)
      const [answer] = await client.answers(1)
      assert.match(answer.head, /Connection: close/)
      await client.waitClosed()
    }
  })

  test('a body over the limit is refused as such and the connection stays usable (Content-Length and chunked)', async () => {
    const client = await Client.open(socket)
    client.write(`POST /big HTTP/1.1\r\nContent-Length: 5000\r\n\r\n`)
    // Answered before the body arrives: the refusal does not wait for 5000 bytes.
    const [first] = await client.answers(1)
    assert.deepEqual(JSON.parse(first.body), {method: 'POST', url: '/big', body: '', tooLarge: true})
    client.write('x'.repeat(5000))
    client.write(`POST /chunked HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n${(1500).toString(16)}\r\n${'y'.repeat(1500)}\r\n0\r\n\r\n`)
    client.write('POST /after HTTP/1.1\r\nContent-Length: 2\r\n\r\nok')
    const answers = await client.answers(3)
    assert.equal(JSON.parse(answers[1].body).tooLarge, true)
    assert.deepEqual(JSON.parse(answers[2].body), {method: 'POST', url: '/after', body: 'ok', tooLarge: false})
    client.destroy()
  })

  test('Expect: 100-continue gets its 100 Continue before the body is sent, then the answer', async () => {
    const client = await Client.open(socket)
    client.write('POST /wait HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n')
    const [interim] = await client.answers(1)
    assert.match(interim.head, /^HTTP\/1\.1 100 Continue\r\n$/)
    client.write('body')
    const answers = await client.answers(2)
    assert.deepEqual(JSON.parse(answers[1].body), {method: 'POST', url: '/wait', body: 'body', tooLarge: false})
    // Over the limit, the body is never asked for: the refusal comes at once and the connection closes.
    const big = await Client.open(socket)
    big.write('POST /big HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n')
    const [refused] = await big.answers(1)
    assert.match(refused.head, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close/)
    assert.equal(JSON.parse(refused.body).tooLarge, true)
    await big.waitClosed()
    client.destroy()
  })

  test('a refused body with Connection: close is read to its end before the close, so the client gets the answer', async () => {
    const client = await Client.open(socket)
    client.write('POST /big HTTP/1.1\r\nContent-Length: 300000\r\nConnection: close\r\n\r\n')
    const [answer] = await client.answers(1)
    assert.equal(JSON.parse(answer.body).tooLarge, true)
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(client.closed, false, 'closed while the body was still coming (the client would get a reset)')
    client.write('x'.repeat(300000) + 'POST /after HTTP/1.1\r\nContent-Length: 0\r\n\r\n')
    await client.waitClosed()
    assert.equal((await client.answers(1)).length, 1, 'a request after Connection: close was answered')
  })

  test('HEAD gets the head of the answer and no body; a status given by the handler is sent with its reason', async () => {
    const client = await Client.open(socket)
    client.write('HEAD /x HTTP/1.1\r\n\r\nPOST /status HTTP/1.1\r\nContent-Length: 0\r\n\r\n')
    const text = await client.rawUntil(/\/status[\s\S]*\}$/)
    const [head, second] = text.split(/(?=HTTP\/1\.1 404)/)
    assert.match(head, /^HTTP\/1\.1 200 OK\r\nContent-Length: \d+\r\n[\s\S]*\r\n\r\n$/)
    assert.match(second, /^HTTP\/1\.1 404 Not Found\r\n/)
    client.destroy()
  })

  test('malformed requests get one JSON answer each (400, 431 for a head too large), then the connection is closed', async () => {
    const cases: [string, string][] = [
      ['this is not http\r\n\r\n', 'HPE_INVALID_URL'],
      ['P@ST /x HTTP/1.1\r\n\r\n', 'HPE_INVALID_METHOD'],
      ['POST /x HTTP/2.0\r\n\r\n', 'HPE_INVALID_VERSION'],
      ['POST /x HTTP/1.1\r\nbad header\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
      ['POST /x HTTP/1.1\r\n folded: x\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
      ['POST /x HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
      ['POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
      ['POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
      ['POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE'],
      ['POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n', 'HPE_STRICT'],
      [`POST /x HTTP/1.1\r\nX: ${'h'.repeat(20_000)}\r\n\r\n`, 'HPE_HEADER_OVERFLOW'],
    ]
    for (const [bytes, code] of cases) {
      const client = await Client.open(socket)
      client.write(bytes)
      const [answer] = await client.answers(1)
      const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'
      assert.match(answer.head, new RegExp(`^HTTP/1\\.1 ${status}\r\n[\\s\\S]*Connection: close`), JSON.stringify(bytes.slice(0, 40)))
      assert.deepEqual(JSON.parse(answer.body), {Err: code}, JSON.stringify(bytes.slice(0, 40)))
      await client.waitClosed()
    }
  })

  test('a slow client: an incomplete request is answered and closed after the request timeout; an idle one is not', async () => {
    const idle = await Client.open(socket)
    const slow = await Client.open(socket)
    slow.write('POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12')
    const [answer] = await slow.answers(1)
    assert.match(answer.head, /^HTTP\/1\.1 408 Request Timeout\r\n/)
    assert.deepEqual(JSON.parse(answer.body), {Err: 'HPE_HEADER_TIMEOUT'})
    await slow.waitClosed()
    await new Promise((resolve) => setTimeout(resolve, 400))
    assert.equal(idle.closed, false, 'an idle keep-alive connection was closed')
    idle.write('POST /still HTTP/1.1\r\nContent-Length: 0\r\n\r\n')
    assert.equal(JSON.parse((await idle.answers(1))[0].body).url, '/still')
    idle.destroy()
  })

  test('a client gone mid-body is reported with its endpoint; one gone before the answer sees it undelivered', async () => {
    const client = await Client.open(socket)
    client.write('POST /VolumeDriver.Create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"Name":')
    await new Promise((resolve) => setTimeout(resolve, 50))
    client.destroy()
    for (let i = 0; i < 50 && !incomplete.includes('/VolumeDriver.Create'); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.ok(incomplete.includes('/VolumeDriver.Create'))

    const hanging = await Client.open(socket)
    hanging.write('POST /hold HTTP/1.1\r\nContent-Length: 0\r\n\r\n')
    for (let i = 0; i < 50 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    hanging.destroy()
    const entry = held.shift()!
    for (let i = 0; i < 50 && !entry.exchange.gone; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(entry.exchange.gone, true)
    const delivered = await new Promise<boolean>((resolve) => entry.exchange.answer('{}', resolve))
    assert.equal(delivered, false)
  })

  test('a request in flight at close is answered with Connection: close; idle connections are closed', async () => {
    const idle = await Client.open(socket)
    const busy = await Client.open(socket)
    busy.write('POST /hold HTTP/1.1\r\nContent-Length: 0\r\n\r\n')
    for (let i = 0; i < 50 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    let closed = false
    server.close(() => (closed = true))
    await idle.waitClosed()
    const entry = held.shift()!
    const delivered = await new Promise<boolean>((resolve) => entry.exchange.answer('{"late":true}', resolve))
    assert.equal(delivered, true)
    const [answer] = await busy.answers(1)
    assert.match(answer.head, /Connection: close/)
    assert.equal(answer.body, '{"late":true}')
    await busy.waitClosed()
    for (let i = 0; i < 50 && !closed; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(closed, true)
  })
})

/** A raw client: writes bytes, splits what comes back into answers by their Content-Length. */
class Client {
  private text = ''
  closed = false
  private readonly waiters: (() => void)[] = []

  private constructor(private readonly conn: net.Socket) {
    conn.setEncoding('latin1')
    conn.on('data', (d: string) => {
      this.text += d
      this.wake()
    })
    conn.on('close', () => {
      this.closed = true
      this.wake()
    })
    conn.on('error', () => {})
  }

  static async open(socket: string): Promise<Client> {
    const conn = net.connect({path: socket})
    await new Promise((resolve, reject) => conn.once('connect', resolve).once('error', reject))
    return new Client(conn)
  }

  write(bytes: string): void {
    this.conn.write(bytes, 'latin1')
  }

  destroy(): void {
    this.conn.destroy()
  }

  /** The first `n` answers on this connection (waits up to 5 s). */
  async answers(n: number): Promise<{head: string; body: string}[]> {
    const deadline = Date.now() + 5000
    for (;;) {
      const parsed = splitAnswers(this.text)
      if (parsed.length >= n) return parsed
      if (this.closed || Date.now() > deadline) throw new Error(`expected ${n} answer(s), got ${JSON.stringify(this.text)}`)
      await this.changed(deadline)
    }
  }

  /** All text received once it matches `pattern` (waits up to 5 s). */
  async rawUntil(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 5000
    while (!pattern.test(this.text)) {
      if (this.closed || Date.now() > deadline) throw new Error(`expected ${pattern}, got ${JSON.stringify(this.text)}`)
      await this.changed(deadline)
    }
    return this.text
  }

  async waitClosed(): Promise<void> {
    const deadline = Date.now() + 5000
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server did not close the connection')
      await this.changed(deadline)
    }
  }

  private changed(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
      this.waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter()
  }
}

function splitAnswers(text: string): {head: string; body: string}[] {
  const answers: {head: string; body: string}[] = []
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) return answers
    const head = rest.slice(0, end + 2)
    const length = Number(/Content-Length: (\d+)/i.exec(head)?.[1] ?? 0)
    if (rest.length < end + 4 + length) return answers
    answers.push({head, body: rest.slice(end + 4, end + 4 + length)})
    rest = rest.slice(end + 4 + length)
  }
}
