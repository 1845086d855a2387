import assert from 'node:assert/strict'
import net from 'node:net'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

/**
 * What a peer's conformance suite checks of `dot serve` on the wire beyond dockerd's own habits
 * (docs/plugin-protocol.md §10): interim 100 Continue, HEAD, HTTP/1.0, many connections at once, a
 * large body with Connection: close. Raw bytes over a real unix socket; nothing mounts, so no root.
 */
describe('dot serve: HTTP as other clients speak it', () => {
  const tmp = new TempRoot('dot-test-plugin-peer-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  let serve: ServeProcess

  before(async () => {
    serve = await ServeProcess.start({root: tmp.root, socket})
  })
  after(async () => {
    await serve?.stop()
    tmp.cleanup()
  })

  test('Expect: 100-continue: 100 Continue first, then the answer to the body sent after it', async () => {
    const conn = await Conn.open(socket)
    const body = '{"Name":"ghost"}'
    conn.write(`POST /VolumeDriver.Get HTTP/1.1\r\nHost: \r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`)
    assert.equal(await conn.until(/\r\n\r\n/), 'HTTP/1.1 100 Continue\r\n\r\n')
    conn.write(body)
    assert.match(await conn.until(/\}$/), /HTTP\/1\.1 200 OK\r\n[\s\S]*\{"Err":"no such volume: ghost"\}$/)
    conn.destroy()
  })

  test('HEAD is answered with a head and no body; the connection goes on', async () => {
    const conn = await Conn.open(socket)
    conn.write('HEAD /VolumeDriver.Capabilities HTTP/1.1\r\nHost: \r\n\r\nPOST /VolumeDriver.List HTTP/1.1\r\nHost: \r\nContent-Length: 3\r\n\r\n{}\n')
    const text = await conn.until(/"Volumes":\[\]\}$/)
    assert.match(text, /^HTTP\/1\.1 200 OK\r\nContent-Length: 34\r\n[^{]*\r\n\r\nHTTP\/1\.1 200 OK\r\n[\s\S]*\{"Volumes":\[\]\}$/)
    conn.destroy()
  })

  test('HTTP/1.0 is answered and closed; with keep-alive it stays open', async () => {
    const once = await Conn.open(socket)
    once.write('POST /VolumeDriver.Capabilities HTTP/1.0\r\nContent-Length: 0\r\n\r\n')
    assert.match(await once.closedText(), /Connection: close\r\n\r\n\{"Capabilities":\{"Scope":"local"\}\}$/)
    const kept = await Conn.open(socket)
    kept.write('POST /Plugin.Activate HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')
    assert.doesNotMatch(await kept.until(/\}$/), /Connection: close/)
    kept.write('POST /Plugin.Activate HTTP/1.0\r\nContent-Length: 0\r\n\r\n')
    assert.match(await kept.closedText(), /Connection: close\r\n\r\n\{"Implements":\["VolumeDriver"\]\}$/)
  })

  test('a 2 MiB body with Connection: close gets its Err, not a reset', async () => {
    const conn = await Conn.open(socket)
    const body = JSON.stringify({Name: 'x'.repeat(2 * 1024 * 1024)})
    conn.write(`POST /VolumeDriver.Get HTTP/1.1\r\nHost: \r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
    assert.match(await conn.closedText(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*larger than 1048576 bytes/)
  })

  test('200 connections at once each get their answer', async () => {
    const answers = await Promise.all(
      Array.from({length: 200}, async (_, i) => {
        const conn = await Conn.open(socket)
        const body = JSON.stringify({Name: `c${i}`})
        conn.write(`POST /VolumeDriver.Get HTTP/1.1\r\nHost: \r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
        return conn.closedText()
      }),
    )
    answers.forEach((text, i) => assert.match(text, new RegExp(`"no such volume: c${i}"`)))
  })
})

class Conn {
  private text = ''
  private closed = false
  private wake: (() => void) | undefined

  private constructor(private readonly conn: net.Socket) {
    conn.setEncoding('latin1')
    conn.on('data', (d: string) => {
      this.text += d
      this.wake?.()
    })
    conn.on('close', () => {
      this.closed = true
      this.wake?.()
    })
    conn.on('error', () => {})
  }

  static async open(socket: string): Promise<Conn> {
    const conn = net.connect({path: socket})
    await new Promise((resolve, reject) => conn.once('connect', resolve).once('error', reject))
    return new Conn(conn)
  }

  write(bytes: string): void {
    this.conn.write(bytes, 'latin1')
  }

  destroy(): void {
    this.conn.destroy()
  }

  /** The text received so far once it matches (consumed), within 5 s. */
  async until(pattern: RegExp): Promise<string> {
    await this.waitFor(() => pattern.test(this.text), `${pattern}`)
    const text = this.text
    this.text = ''
    return text
  }

  /** Everything received once the server closed the connection, within 5 s. */
  async closedText(): Promise<string> {
    await this.waitFor(() => this.closed, 'the server closing the connection')
    return this.text
  }

  private async waitFor(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5000
    while (!done()) {
      if (this.closed || Date.now() > deadline) throw new Error(`waited for ${what}; got ${JSON.stringify(this.text.slice(0, 300))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }
}
