import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {type PluginAnswer, ServeProcess} from './plugin-process.js'

/** An answer within `ms`, or a failure naming the call: a hung plugin must fail the test, not hang it. */
async function within(ms: number, what: string, answer: Promise<PluginAnswer>): Promise<PluginAnswer> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms (dot serve hangs)`)), ms)))
  try {
    return await Promise.race([answer, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Mount records that are not files (issue 10, item 7): a FIFO or a directory at
 * `activemounts/<id>`, planted while `dot serve` runs. Get and List must answer at once (a FIFO
 * opened for reading blocks until a writer comes), errors must name the volume and the path, and
 * `dot gc` must report the entry.
 */
describe('dot serve: mount records that are not regular files', rootOnly(), () => {
  let tmp: TempRoot
  let serve: ServeProcess
  let fifo: string
  let dir: string

  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-odd-records-')
    const base = tmp.base('base', {'a.txt': 'a\n'})
    serve = await ServeProcess.start({root: tmp.root, socket: path.join(tmp.dir, 'plugin.sock')})
    for (const name of ['withfifo', 'withdir', 'fine']) assert.equal((await serve.call('/VolumeDriver.Create', {Name: name, Opts: {base}})).json.Err, undefined)
    fifo = path.join(tmp.root, 'withfifo', 'activemounts', 'planted')
    dir = path.join(tmp.root, 'withdir', 'activemounts', 'planted')
    execFileSync('mkfifo', [fifo])
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, 'inside'), 'x')
  })
  after(async () => {
    serve?.child.kill('SIGKILL') // a hung serve ignores SIGTERM
    await serve?.exited
    tmp?.cleanup()
  })

  test('Get of a volume with a FIFO record answers at once, naming the volume and the path', async () => {
    const answer = await within(5000, 'Get', serve.call('/VolumeDriver.Get', {Name: 'withfifo'}))
    assert.match(String(answer.json.Err), /withfifo/)
    assert.ok(String(answer.json.Err).includes(fifo), `the error names ${fifo}: ${answer.text}`)
    assert.match(String(answer.json.Err), /not a regular file/)
  })

  test('List and Get of other volumes keep answering', async () => {
    const list = await within(5000, 'List', serve.call('/VolumeDriver.List', {}))
    assert.deepEqual((list.json.Volumes as {Name: string}[]).map((v) => v.Name).sort(), ['fine', 'withdir', 'withfifo'])
    const fine = await within(5000, 'Get fine', serve.call('/VolumeDriver.Get', {Name: 'fine'}))
    assert.equal(fine.json.Err, undefined, fine.text)
  })

  test('Remove of a volume with a directory record names the path, not a bare EISDIR', async () => {
    const answer = await within(5000, 'Remove', serve.call('/VolumeDriver.Remove', {Name: 'withdir'}))
    const err = String(answer.json.Err)
    assert.ok(err.includes(dir), `the error names ${dir}: ${answer.text}`)
    assert.match(err, /withdir/)
    assert.doesNotMatch(err, /^EISDIR/)
  })

  test('dot gc reports both entries; dot rm --force still removes such a volume', async () => {
    const gc = await runDot(['gc', '--json', '--dry-run', '--root', tmp.root], {timeoutMs: 20_000, env: {DOCKER_HOST: 'unix:///nonexistent.sock'}})
    assert.equal(gc.code, 0, gc.stderr)
    const findings = (parseJson(gc) as {findings: {path: string; problem: string}[]}).findings
    for (const planted of [fifo, dir]) {
      const finding = findings.find((f) => f.path === planted)
      assert.ok(finding, `gc reports ${planted}: ${JSON.stringify(findings)}`)
      assert.match(finding.problem, /not a regular file/)
    }
    const rm = await runDot(['rm', '--force', 'withdir', '--root', tmp.root], {timeoutMs: 20_000})
    assert.equal(rm.code, 0, rm.stderr)
    assert.equal(fs.existsSync(path.join(tmp.root, 'withdir')), false)
  })
})
