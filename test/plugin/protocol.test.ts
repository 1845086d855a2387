import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

/**
 * The protocol edges of docs/plugin-protocol.md §9 over a real unix socket to a real `dot serve`: every request gets
 * status 200 and a JSON body, failures as {"Err"}. Nothing here mounts, so it runs without root.
 */
describe('dot serve: protocol edges', () => {
  const tmp = new TempRoot('dot-test-plugin-proto-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  let serve: ServeProcess
  let base: string

  before(async () => {
    base = tmp.base('data', {'hello.txt': 'hi'})
    serve = await ServeProcess.start({root: tmp.root, socket})
  })
  after(async () => {
    await serve?.stop()
    tmp.cleanup()
  })

  const assertErr = (answer: {status: number; json: Record<string, unknown>}, pattern: RegExp) => {
    assert.equal(answer.status, 200)
    assert.equal(typeof answer.json.Err, 'string', `expected an Err, got ${JSON.stringify(answer.json)}`)
    assert.match(answer.json.Err as string, pattern)
  }

  test('Activate lists exactly VolumeDriver, with or without a body', async () => {
    for (const body of [undefined, {}]) {
      const answer = await serve.call('/Plugin.Activate', body)
      assert.equal(answer.status, 200)
      assert.deepEqual(answer.json, {Implements: ['VolumeDriver']})
    }
  })

  test('Podman (it sends a Content-Type) gets its errors as status 500, which is all it reads as failure', async () => {
    const podman = {headers: {'Content-Type': 'application/vnd.docker.plugins.v1.1+json', Host: 'plugin'}}
    const refused = await serve.call('/VolumeDriver.Create', {Name: 'pv', Opts: {bad: '1'}}, podman)
    assert.equal(refused.status, 500)
    assert.match(refused.json.Err as string, /unknown option "bad"/)
    assert.equal((await serve.call('/VolumeDriver.Get', {Name: 'nosuch'}, podman)).status, 500)
    // Successes stay 200, and dockerd (no Content-Type) gets the same error as 200.
    assert.equal((await serve.call('/Plugin.Activate', undefined, podman)).status, 200)
    assert.deepEqual((await serve.call('/VolumeDriver.List', {}, podman)).json, {Volumes: []})
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'pv', Opts: {bad: '1'}}), /unknown option "bad"/)
  })

  test('Capabilities answers scope local', async () => {
    const answer = await serve.call('/VolumeDriver.Capabilities', {})
    assert.deepEqual(answer.json, {Capabilities: {Scope: 'local'}})
  })

  test('the socket is mode 0660', () => {
    const stat = fs.statSync(socket)
    assert.ok(stat.isSocket())
    assert.equal(stat.mode & 0o777, 0o660)
  })

  test('an empty body (dockerd retrying a dropped request) gets an Err, not a crash', async () => {
    for (const endpoint of ['/VolumeDriver.Create', '/VolumeDriver.Get', '/VolumeDriver.Mount', '/VolumeDriver.Unmount', '/VolumeDriver.Remove', '/VolumeDriver.Path']) {
      assertErr(await serve.call(endpoint), /empty request body/)
    }
    // Endpoints that carry no data still answer normally.
    assert.deepEqual((await serve.call('/VolumeDriver.List')).json, {Volumes: []})
  })

  test('malformed JSON and non-object bodies get an Err', async () => {
    assertErr(await serve.call('/VolumeDriver.Create', '{"Name": "x", ', {raw: true}), /not valid JSON/)
    assertErr(await serve.call('/VolumeDriver.Get', '[1,2]', {raw: true}), /must be a JSON object, got an array/)
    assertErr(await serve.call('/VolumeDriver.Get', '"x"', {raw: true}), /must be a JSON object, got string/)
    assertErr(await serve.call('/VolumeDriver.Get', 'null\n', {raw: true}), /no "Name"/)
  })

  test('Create with Opts null is refused for the missing base, naming the option', async () => {
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'nobase', Opts: null}), /missing required option "base"/)
    assertErr(await serve.call('/VolumeDriver.Get', {Name: 'nobase'}), /no such volume/)
  })

  test('non-string option values and unknown options are refused', async () => {
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'v1', Opts: {base, volatile: true}}), /option "volatile" must be a string, got boolean/)
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'v1', Opts: {base: 42}}), /option "base" must be a string, got number/)
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'v1', Opts: {base, quota: '1G'}}), /unknown option "quota"; allowed options are: base, volatile/)
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'v1', Opts: {base: 'relative/dir'}}), /not an absolute path/)
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'v1', Opts: {base: path.join(tmp.dir, 'missing')}}), /.+/)
    assert.deepEqual((await serve.call('/VolumeDriver.List', {})).json, {Volumes: []})
  })

  test('names dockerd forwards unchecked are refused before they name a path', async () => {
    for (const name of ['../../etc', 'a/b', '.hidden', '-dash', 'x:y', 'with space', 'ü-name', 'n'.repeat(300), 7]) {
      assertErr(await serve.call('/VolumeDriver.Create', {Name: name, Opts: {base}}), /name/)
    }
    const entries = fs.existsSync(tmp.root) ? fs.readdirSync(tmp.root) : []
    assert.deepEqual(entries.filter((e) => !e.startsWith('.')), [])
    assert.equal(fs.existsSync('/etc/metadata.json'), false)
  })

  test('Get {"Name": ""} and Get of an unknown name answer Err', async () => {
    assertErr(await serve.call('/VolumeDriver.Get', {Name: ''}), /volume name is empty/)
    assertErr(await serve.call('/VolumeDriver.Get', {Name: 'ghost'}), /no such volume: ghost/)
    assertErr(await serve.call('/VolumeDriver.Path', {Name: 'ghost'}), /no such volume: ghost/)
  })

  test('an unknown endpoint answers 404 (what dockerd reads as "not implemented") with an Err', async () => {
    for (const [endpoint, headers] of [['/NetworkDriver.GetCapabilities', {}], ['/', {'Content-Type': 'application/json'}]] as const) {
      const answer = await serve.call(endpoint, {}, {headers})
      assert.equal(answer.status, 404)
      assert.match(answer.json.Err as string, /unknown endpoint/)
    }
  })

  test('a body over 1 MiB is refused with an Err, and the server keeps answering', async () => {
    const huge = JSON.stringify({Name: 'big', Opts: {base, pad: 'x'.repeat(2 * 1024 * 1024)}})
    assertErr(await serve.call('/VolumeDriver.Create', huge, {raw: true}), /larger than 1048576 bytes/)
    assertErr(await serve.call('/VolumeDriver.List', huge, {raw: true}), /larger than 1048576 bytes/)
    assert.equal((await serve.call('/VolumeDriver.Capabilities', {})).status, 200)
  })

  test('a body over 1 MiB without Content-Length (chunked) is cut off at the limit', async () => {
    const answer = await rawRequest(socket, 'POST /VolumeDriver.Create HTTP/1.1\r\nHost: \r\nTransfer-Encoding: chunked\r\n\r\n', 'y'.repeat(1536 * 1024))
    assert.match(answer, /^HTTP\/1.1 200 /)
    assert.match(answer, /larger than 1048576 bytes/)
  })

  test('bytes that are not HTTP still get a JSON answer (400)', async () => {
    const answer = await rawRequest(socket, 'this is not http\r\n\r\n', '')
    assert.match(answer, /^HTTP\/1.1 400 Bad Request/)
    assert.match(answer, /\{"Err":"unreadable HTTP request \(HPE_[A-Z_]+\)/)
    assert.equal((await serve.call('/VolumeDriver.Capabilities', {})).status, 200)
  })

  test('Mount of an unknown volume is an Err, never an empty Mountpoint', async () => {
    const answer = await serve.call('/VolumeDriver.Mount', {Name: 'ghost', ID: 'a'.repeat(64)})
    assertErr(answer, /no such volume: ghost/)
    assert.equal(answer.json.Mountpoint, undefined)
    assertErr(await serve.call('/VolumeDriver.Mount', {Name: 'ghost'}), /mount ID is empty/)
  })

  test('Unmount of an ID that is not mounted succeeds', async () => {
    assert.deepEqual((await serve.call('/VolumeDriver.Create', {Name: 'idle', Opts: {base}})).json, {})
    assert.deepEqual((await serve.call('/VolumeDriver.Unmount', {Name: 'idle', ID: 'b'.repeat(64)})).json, {})
    assert.deepEqual((await serve.call('/VolumeDriver.Remove', {Name: 'idle'})).json, {})
  })

  test('Create of an existing name, Remove of an unknown name: Errs', async () => {
    assert.deepEqual((await serve.call('/VolumeDriver.Create', {Name: 'twice', Opts: {base}})).json, {})
    assertErr(await serve.call('/VolumeDriver.Create', {Name: 'twice', Opts: {base}}), /already exists/)
    assert.deepEqual((await serve.call('/VolumeDriver.Remove', {Name: 'twice'})).json, {})
    assertErr(await serve.call('/VolumeDriver.Remove', {Name: 'twice'}), /no such volume/)
  })

  test('Get echoes the requested name and has an RFC 3339 CreatedAt, no Mountpoint while unmounted', async () => {
    assert.deepEqual((await serve.call('/VolumeDriver.Create', {Name: 'Echo.1', Opts: {base, volatile: 'TRUE'}})).json, {})
    const volume = (await serve.call('/VolumeDriver.Get', {Name: 'Echo.1'})).json.Volume as Record<string, unknown>
    assert.equal(volume.Name, 'Echo.1')
    assert.equal(volume.Mountpoint, undefined)
    assert.match(volume.CreatedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/)
    assert.deepEqual(volume.Status, {base, volatile: true, mounted: false, activeMounts: {}, upper: path.join(tmp.root, 'Echo.1', 'upper'), snapshots: 0})
    assert.deepEqual((await serve.call('/VolumeDriver.Path', {Name: 'Echo.1'})).json, {Mountpoint: ''})
    assert.deepEqual((await serve.call('/VolumeDriver.List', {})).json, {Volumes: [{Name: 'Echo.1'}]})
  })

  test('an idle keep-alive connection is not closed by the server (dockerd never times them out)', async () => {
    const conn = net.connect({path: socket})
    await new Promise((resolve) => conn.once('connect', resolve))
    const exchange = (body: string) => {
      const answer = new Promise<string>((resolve) => {
        let text = ''
        const onData = (d: Buffer) => {
          text += d.toString('utf8')
          const match = /Content-Length: (\d+)\r\n(?:[\s\S]*?\r\n)?\r\n/i.exec(text)
          if (match && text.length >= match.index + match[0].length + Number(match[1])) {
            conn.off('data', onData)
            resolve(text)
          }
        }
        conn.on('data', onData)
      })
      conn.write(`POST /VolumeDriver.Capabilities HTTP/1.1\r\nHost: \r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      return answer
    }
    const first = await exchange('{}\n')
    assert.match(first, /^HTTP\/1.1 200 /)
    assert.doesNotMatch(first, /Keep-Alive: timeout/i)
    assert.doesNotMatch(first, /Connection: close/i)
    // Longer than Node's default keepAliveTimeout (5 s).
    await new Promise((resolve) => setTimeout(resolve, 5500))
    assert.equal(conn.destroyed || conn.readableEnded, false, 'the server closed the idle connection')
    const second = await exchange('{}\n')
    assert.match(second, /\{"Capabilities":\{"Scope":"local"\}\}$/)
    conn.destroy()
  })

  test('a client that hangs up mid-body leaves nothing in flight', async () => {
    const conn = net.connect({path: socket})
    await new Promise((resolve) => conn.once('connect', resolve))
    conn.write('POST /VolumeDriver.Create HTTP/1.1\r\nHost: \r\nContent-Length: 100\r\n\r\n{"Name":')
    await new Promise((resolve) => setTimeout(resolve, 100))
    conn.destroy()
    for (let i = 0; i < 100 && !serve.stderr.includes('the client went away before the request was answered'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.match(serve.stderr, /debug \/VolumeDriver\.Create: the client went away before the request was answered/)
    assert.equal((await serve.call('/VolumeDriver.Capabilities', {})).status, 200)
  })

  test('requests are logged one line each at debug, user mistakes without a stack', () => {
    assert.match(serve.stderr, /debug \/VolumeDriver\.Capabilities \{\} -> \{"Capabilities":\{"Scope":"local"\}\}/)
    assert.match(serve.stderr, /warn {2}\/VolumeDriver\.Create refused: unknown option "quota"/)
    assert.doesNotMatch(serve.stderr, /^\s+at /m)
    assert.equal(serve.stdout, `listening on ${socket}\n`)
  })

  test('SIGTERM with nothing in flight stops at once and removes the socket', async () => {
    const started = Date.now()
    assert.deepEqual(await serve.stop('SIGTERM'), {code: 0, signal: null})
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`)
    assert.equal(fs.existsSync(socket), false)
    assert.doesNotMatch(serve.stderr, /waiting for \d+ request/)
  })
})

/** Writes a raw HTTP request (head, then body as one chunk) and returns everything the server answered. */
function rawRequest(socketPath: string, head: string, chunk: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.connect({path: socketPath})
    let answer = ''
    conn.setEncoding('utf8')
    conn.on('data', (d) => {
      answer += d
      if (/\r\n\r\n[\s\S]*\}/.test(answer)) conn.destroy()
    })
    conn.on('close', () => resolve(answer))
    conn.on('error', (err) => (answer ? resolve(answer) : reject(err)))
    conn.write(head)
    if (chunk) conn.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n0\r\n\r\n`)
  })
}
