import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, afterEach, before, describe, test} from 'node:test'

import {parseMetricsAddress} from '../../src/plugin/metrics/metrics-address.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

/** GET /metrics over a unix socket (or any path there), resolving with status and body. */
function scrape(socketPath: string, urlPath = '/metrics'): Promise<{status: number; type: string; text: string}> {
  return new Promise((resolve, reject) => {
    const req = http.get({socketPath, path: urlPath}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, type: String(res.headers['content-type']), text}))
    })
    req.on('error', reject)
  })
}

/** The value of one sample line (`name{labels} value`), or undefined when the scrape has none. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('metrics address', () => {
  test('host:port, [v6]:port, :port and unix paths; anything else is refused with the forms allowed', () => {
    assert.deepEqual(parseMetricsAddress('127.0.0.1:9323'), {kind: 'tcp', host: '127.0.0.1', port: 9323})
    assert.deepEqual(parseMetricsAddress('[::1]:9323'), {kind: 'tcp', host: '::1', port: 9323})
    assert.deepEqual(parseMetricsAddress(':9323'), {kind: 'tcp', host: '0.0.0.0', port: 9323})
    assert.deepEqual(parseMetricsAddress('/run/dot/metrics.sock'), {kind: 'unix', path: '/run/dot/metrics.sock'})
    for (const bad of ['9323', 'localhost', 'host:0', 'host:70000', 'a:b:c']) {
      assert.throws(() => parseMetricsAddress(bad), /invalid --metrics address .*HOST:PORT .* unix socket path/, bad)
    }
  })
})

describe('dot serve --metrics', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-metrics-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  const metricsSocket = path.join(tmp.dir, 'metrics.sock')
  const running: ServeProcess[] = []
  let base: string

  before(() => {
    assertRoot()
    base = tmp.base('data', {'hello.txt': 'hello\n'})
  })
  afterEach(async () => {
    await Promise.all(running.splice(0).map((proc) => proc.stop('SIGTERM')))
  })
  after(() => tmp.cleanup())

  test('a scrape during a burst of requests counts them by endpoint and outcome, with volumes, mounts and changes sizes', async () => {
    const proc = await ServeProcess.start({root: tmp.root, socket, extraArgs: ['--metrics', metricsSocket], env: {DOT_METRICS_REFRESH_SECONDS: '0.2'}})
    running.push(proc)
    assert.match(proc.stderr, /metrics on http:\/\/unix:.*metrics\.sock:\/metrics/)
    const ok = async (endpoint: string, body: unknown) => {
      const answer = await proc.call(endpoint, body)
      assert.equal(answer.json.Err, undefined, `${endpoint}: ${answer.text}`)
      return answer.json
    }
    await ok('/VolumeDriver.Create', {Name: 'm1', Opts: {base}})
    await ok('/VolumeDriver.Create', {Name: 'm2', Opts: {base}})
    const id = randomBytes(32).toString('hex')
    const {Mountpoint: mountpoint} = await ok('/VolumeDriver.Mount', {Name: 'm1', ID: id})
    fs.writeFileSync(path.join(mountpoint as string, 'big.bin'), Buffer.alloc(256 * 1024, 1))

    // 200 requests in flight while scraping: the scrape must answer meanwhile, and after the burst it
    // must count every one of them.
    const burst = Array.from({length: 200}, (_, i) => (i % 4 === 0 ? proc.call('/VolumeDriver.Get', {Name: 'nosuch'}) : proc.call('/VolumeDriver.List', {})))
    const during = await scrape(metricsSocket)
    assert.equal(during.status, 200)
    assert.match(during.type, /^text\/plain; version=0\.0\.4/)
    await Promise.all(burst)
    await proc.call('/VolumeDriver.Bogus', {})

    let text = ''
    for (let i = 0; i < 50; i++) {
      text = (await scrape(metricsSocket)).text
      if ((sample(text, 'dot_volume_changes_bytes{volume="m1"}') ?? 0) >= 256 * 1024) break
      await sleep(100)
    }
    assert.equal(sample(text, 'dot_requests_total{endpoint="VolumeDriver.List",outcome="ok"}'), 150)
    assert.equal(sample(text, 'dot_requests_total{endpoint="VolumeDriver.Get",outcome="refused"}'), 50)
    assert.equal(sample(text, 'dot_requests_total{endpoint="VolumeDriver.Create",outcome="ok"}'), 2)
    assert.equal(sample(text, 'dot_requests_total{endpoint="VolumeDriver.Mount",outcome="ok"}'), 1)
    assert.equal(sample(text, 'dot_requests_total{endpoint="unknown",outcome="refused"}'), 1)
    assert.equal(sample(text, 'dot_request_duration_seconds_count{endpoint="VolumeDriver.List"}'), 150)
    assert.equal(sample(text, 'dot_request_duration_seconds_bucket{le="+Inf",endpoint="VolumeDriver.Get"}'), 50)
    assert.ok((sample(text, 'dot_request_duration_seconds_sum{endpoint="VolumeDriver.Mount"}') ?? 0) > 0)
    assert.equal(sample(text, 'dot_volumes'), 2)
    assert.equal(sample(text, 'dot_volumes_mounted'), 1)
    assert.equal(sample(text, 'dot_mount_records'), 1)
    assert.ok((sample(text, 'dot_volume_changes_bytes{volume="m1"}') ?? 0) >= 256 * 1024, text)
    assert.equal(sample(text, 'dot_volume_changes_bytes{volume="m2"}'), 0)
    assert.equal(sample(text, 'dot_startup_repairs_total{status="failed"}'), 0)
    assert.ok(sample(text, 'dot_process_resident_memory_bytes')! > 0)
    for (const name of ['dot_requests_total', 'dot_request_duration_seconds', 'dot_volumes', 'dot_volumes_mounted', 'dot_mount_records', 'dot_volume_changes_bytes', 'dot_startup_repairs_total']) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name)
    }
    assert.equal((await scrape(metricsSocket, '/other')).status, 404)

    await ok('/VolumeDriver.Unmount', {Name: 'm1', ID: id})
    await ok('/VolumeDriver.Remove', {Name: 'm1'})
    await ok('/VolumeDriver.Remove', {Name: 'm2'})
    assert.deepEqual(await proc.stop(), {code: 0, signal: null})
    assert.equal(fs.existsSync(metricsSocket), false, 'the metrics socket goes with the server')
  })

  test('start-up repairs are counted: a record left without its overlay', async () => {
    const root = path.join(tmp.dir, 'root-repairs')
    fs.mkdirSync(path.join(root, 'v', 'activemounts'), {recursive: true})
    fs.mkdirSync(path.join(root, 'v', 'upper'))
    fs.writeFileSync(path.join(root, 'v', 'metadata.json'), JSON.stringify({BaseDirPath: base, Volatile: false}))
    fs.writeFileSync(path.join(root, 'v', 'activemounts', 'gone'), '{"UsageCount": 1}')
    const proc = await ServeProcess.start({root, socket, extraArgs: ['--metrics', metricsSocket]})
    running.push(proc)
    let repaired: number | undefined
    for (let i = 0; i < 50 && !repaired; i++) {
      repaired = sample((await scrape(metricsSocket)).text, 'dot_startup_repairs_total{status="repaired"}')
      if (!repaired) await sleep(100)
    }
    assert.equal(repaired, 1)
  })

  test('a bad --metrics address is invalid use (exit 2) and nothing listens', async () => {
    const result = await runDot(['serve', '--socket', socket, '--root', tmp.root, '--metrics', 'nonsense'], {timeoutMs: 20_000})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /invalid --metrics address "nonsense"/)
    assert.equal(fs.existsSync(socket), false)
  })
})
