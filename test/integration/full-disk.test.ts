import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {mountsBelow, TempRoot} from '../helpers/temp-root.js'
import {dotArgs, isOneLine, runDotUnder, WITHOUT_DAC} from './cli-fixtures.js'
import {mountTmpfs} from './trust-fixtures.js'

/** Fills the filesystem holding `dir` until a write fails with ENOSPC. */
function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler'), 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) fs.writeSync(fd, chunk)
  } catch (err) {
    assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC')
  } finally {
    fs.closeSync(fd)
  }
  // The last partial page too: tmpfs accepts writes until its last page is taken.
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(path.join(dir, `crumb-${i}`), 'x')
    } catch {
      return
    }
  }
}

const records = (root: string, name: string) => {
  const dir = path.join(root, name, 'activemounts')
  return Object.fromEntries(fs.readdirSync(dir).map((id) => [id, fs.readFileSync(path.join(dir, id), 'utf8').trim()]))
}

/**
 * A full root and a read-only root (issue 10, item 9): the root is a small tmpfs of its own. Failed
 * record updates leave no temp files, dropping a use needs no new space, nothing is lost; a read-only
 * root says so. Also the small input checks of item 9 that the CLI answers.
 */
describe('a full or read-only root, and small input checks', rootOnly(), () => {
  let tmp: TempRoot
  let base: string
  let disk: string
  before(() => {
    assertRoot()
    tmp = new TempRoot('dot-test-full-disk-')
    base = tmp.base('base', {'a.txt': 'a\n'})
    disk = path.join(tmp.dir, 'disk')
    mountTmpfs(disk, '4m')
  })
  after(() => tmp?.cleanup())

  test('full root: mount fails cleanly, unmount still drops each use, the changes survive', async () => {
    const root = path.join(disk, 'root')
    const dot = (...command: string[]) => runDot(dotArgs(root, command))
    assert.equal((await dot('create', 'v', '--base', base)).code, 0)
    for (const id of ['a', 'a', 'b']) assert.equal((await dot('mount', 'v', '--id', id)).code, 0)
    const mountpoint = path.join(root, 'v', 'mountpoint')
    fs.writeFileSync(path.join(mountpoint, 'kept.txt'), 'my change\n')
    fill(disk)
    assert.deepEqual(records(root, 'v'), {a: '{"UsageCount":2}', b: '{"UsageCount":1}'})

    for (const id of ['a', 'c']) {
      const mounted = await dot('mount', 'v', '--id', id)
      assert.equal(mounted.code, 1, `mount --id ${id} on a full disk: ${mounted.stderr}`)
      assert.match(mounted.stderr, /no space left on device|ENOSPC/)
      assert.ok(isOneLine(mounted.stderr), mounted.stderr)
      assert.deepEqual(records(root, 'v'), {a: '{"UsageCount":2}', b: '{"UsageCount":1}'}, 'no temp file, no new record, counts unchanged')
    }
    const first = await dot('unmount', 'v', '--id', 'a')
    assert.equal(first.code, 0, `dropping one of two uses needs no new space: ${first.stderr}`)
    assert.deepEqual(Object.keys(records(root, 'v')).sort(), ['a', 'b'])
    assert.equal(JSON.parse(records(root, 'v').a).UsageCount, 1)
    for (const id of ['a', 'b']) assert.equal((await dot('unmount', 'v', '--id', id)).code, 0)
    assert.deepEqual(records(root, 'v'), {})
    assert.deepEqual(mountsBelow(root), [], 'the last unmount unmounted the overlay')
    assert.equal(fs.readFileSync(path.join(root, 'v', 'upper', 'kept.txt'), 'utf8'), 'my change\n', 'nothing lost')
    for (const entry of fs.readdirSync(disk)) if (entry.startsWith('filler') || entry.startsWith('crumb-')) fs.rmSync(path.join(disk, entry))
  })

  test('read-only root: the message says read-only, never ENOENT', async () => {
    const root = path.join(disk, 'root')
    execFileSync('mount', ['-o', 'remount,ro', disk])
    try {
      for (const command of [['create', 'w', '--base', base], ['mount', 'v'], ['create', 'x', '--base', base, '--root', path.join(disk, 'other-root')]]) {
        const result = await runDot(command.includes('--root') ? command : dotArgs(root, command))
        assert.equal(result.code, 1, `${command.join(' ')}: ${result.stderr}`)
        assert.match(result.stderr, /read-only/, `${command.join(' ')}: ${result.stderr}`)
        assert.doesNotMatch(result.stderr, /ENOENT/)
      }
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', disk])
    }
  })

  test('recover --to a dangling symlink is invalid input (exit 2)', async () => {
    const link = path.join(tmp.dir, 'dangling')
    fs.symlinkSync(path.join(tmp.dir, 'nowhere', 'x'), link)
    const root = path.join(disk, 'root')
    assert.equal((await runDot(dotArgs(root, ['create', 'r', '--base', base]))).code, 0)
    const result = await runDot(dotArgs(root, ['recover', 'r', '--to', link]))
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /symlink/)
    assert.equal(fs.existsSync(path.join(tmp.dir, 'nowhere')), false, 'nothing made at its target')
  })

  test('"(are you root?)" only when not root', async () => {
    const closed = path.join(tmp.dir, 'closed')
    fs.mkdirSync(closed, {mode: 0o000})
    const args = ['create', 'y', '--base', base, '--root', path.join(closed, 'root')]
    const asRoot = await runDotUnder(WITHOUT_DAC, args)
    assert.equal(asRoot.code, 1, asRoot.stderr)
    assert.match(asRoot.stderr, /EACCES|permission denied/)
    assert.doesNotMatch(asRoot.stderr, /are you root/)
    // Not root: a root directory under /root (0700) and a base anyone can read.
    const nobody = ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--']
    const asNobody = await runDot(['create', 'y', '--base', '/usr', '--root', '/root/dot-test-nobody/root'], {prefix: nobody, env: {HOME: '/tmp'}})
    assert.equal(asNobody.code, 2, asNobody.stderr)
    assert.match(asNobody.stderr, /needs root/)
  })

  for (const pseudo of ['/proc', '/sys', '/proc/self']) {
    test(`base=${pseudo} is refused at create (exit 2)`, async () => {
      const result = await runDot(dotArgs(path.join(disk, 'root'), ['create', 'pseudo', '-o', `base=${pseudo}`]))
      assert.equal(result.code, 2, result.stderr)
      assert.match(result.stderr, /pseudo/)
      assert.equal(fs.existsSync(path.join(disk, 'root', 'pseudo')), false)
    })
  }
})
