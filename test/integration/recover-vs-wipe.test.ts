import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'

const FILES = 300
const FILE_BYTES = 64 * 1024

function recoverViewMounted(root: string): boolean {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountpoint.startsWith(`${root}/.recover-`))
}

async function until(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * `dot recover` of an idle volatile volume while a container starts on it (issue 10, item 6): the
 * first mount wipes the changes the recover is copying. The recover must either keep the wipe from
 * starting until it is done, or fail; it must never exit 0 with a partial copy. The recover's reader
 * is held still (its pipe fills, tar blocks) while a real `dot mount` runs, so the race is certain.
 */
describe('dot recover against the next first mount of a volatile volume', rootOnly(), () => {
  let tmp: TempRoot
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-recover-wipe-')
    const base = tmp.base('base', {'from-base.txt': 'base\n'})
    for (const command of [['create', 'v', '--base', base, '--volatile'], ['mount', 'v']]) assert.equal((await runDot(dotArgs(tmp.root, command))).code, 0)
    const mountpoint = path.join(tmp.root, 'v', 'mountpoint')
    for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(mountpoint, `f${String(i).padStart(4, '0')}`), Buffer.alloc(FILE_BYTES, i % 256))
    assert.equal((await runDot(dotArgs(tmp.root, ['unmount', 'v']))).code, 0)
  })
  after(() => tmp?.cleanup())

  test('a recover that exits 0 holds every file; the mount still succeeds and starts afresh', async () => {
    const recover = spawn(process.execPath, [DOT_BIN, ...dotArgs(tmp.root, ['recover', 'v', '--tar'])], {stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    recover.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise<number>((resolve) => recover.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))))
    recover.stdout.pause() // nobody reads: tar blocks once the pipe is full
    try {
      await until('the recover view to be mounted', () => recoverViewMounted(tmp.root))
      await new Promise((resolve) => setTimeout(resolve, 300))
      const mount = runDot(dotArgs(tmp.root, ['mount', 'v', '--id', 'container']), {timeoutMs: 90_000})
      await new Promise((resolve) => setTimeout(resolve, 1500)) // the mount's wipe, if nothing holds it back
      const chunks: Buffer[] = []
      recover.stdout.on('data', (d: Buffer) => chunks.push(d))
      recover.stdout.resume()
      const code = await exited
      const mounted = await mount
      assert.equal(mounted.code, 0, `the first mount must succeed once the recover is done: ${mounted.stderr}`)
      if (code === 0) {
        const archive = path.join(tmp.dir, 'v.tar')
        fs.writeFileSync(archive, Buffer.concat(chunks))
        const names = execFileSync('tar', ['-tf', archive], {encoding: 'utf8'}).split('\n').filter((n) => /^\.\/f\d+$/.test(n))
        assert.equal(names.length, FILES, `recover exited 0, so it must hold all ${FILES} files; stderr: ${stderr}`)
      } else {
        assert.match(stderr, /recover/, 'a failed recover says so')
      }
      assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'v', 'upper')), [], 'the mount wiped the old changes')
      assert.equal((await runDot(dotArgs(tmp.root, ['unmount', 'v', '--id', 'container']))).code, 0)
    } finally {
      recover.kill('SIGKILL')
    }
  })
})
