import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

type Change = {path: string; kind: string}

/**
 * diff and recover on layers made other ways than the fixture's: by the Go original (whiteouts and an
 * opaque directory made by hand, metadata without CreatedAt), by a kernel mount with redirect_dir=on
 * (a renamed directory), and a volatile volume between its last unmount and its next first mount.
 */
describe('dot diff and dot recover on other layers', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-diff-layers-')
  let store: VolumeStore
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root])
  const diff = async (name: string) => {
    const result = await dot('diff', name, '--json')
    assert.equal(result.code, 0, result.stderr)
    return Object.fromEntries((parseJson(result) as Change[]).map((c) => [c.path, c.kind]))
  }
  const files = (dir: string): Record<string, string> => {
    const out: Record<string, string> = {}
    const walk = (rel: string) => {
      for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
        const p = path.join(rel, name)
        const st = fs.lstatSync(path.join(dir, p))
        if (st.isDirectory()) {
          out[p + '/'] = ''
          walk(p)
        } else out[p] = st.isFile() ? fs.readFileSync(path.join(dir, p), 'utf8') : `type ${st.mode & 0o170000}`
      }
    }
    walk('')
    return out
  }

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
  })
  after(() => tmp.cleanup())

  test('a volume written by the Go original: hand-made whiteouts and opaque directory', async () => {
    const base = tmp.base('go', {'keep': 'k\n', 'gone': 'g\n', 'dir/old': 'o\n', 'opaque/hidden': 'h\n'})
    const volume = path.join(tmp.root, 'govol')
    fs.mkdirSync(path.join(volume, 'upper', 'opaque'), {recursive: true})
    fs.mkdirSync(path.join(volume, 'activemounts'))
    // Exactly what the Go original writes: no CreatedAt, mode 0666.
    fs.writeFileSync(path.join(volume, 'metadata.json'), JSON.stringify({BaseDirPath: base, Volatile: true}), {mode: 0o666})
    await execa('mknod', [path.join(volume, 'upper', 'gone'), 'c', '0', '0'])
    await execa('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', path.join(volume, 'upper', 'opaque')])
    fs.writeFileSync(path.join(volume, 'upper', 'opaque', 'fresh'), 'f\n')
    fs.writeFileSync(path.join(volume, 'upper', 'added'), 'a\n')

    assert.deepEqual(await diff('govol'), {'/added': 'A', '/gone': 'D', '/opaque': 'C', '/opaque/fresh': 'A', '/opaque/hidden': 'D'})
    const to = path.join(tmp.dir, 'go-out')
    const result = await dot('recover', 'govol', '--to', to)
    assert.equal(result.code, 0, result.stderr)
    // No whiteout device and no opaque marker leak into the copy.
    assert.deepEqual(files(to), {'added': 'a\n', 'dir/': '', 'dir/old': 'o\n', 'keep': 'k\n', 'opaque/': '', 'opaque/fresh': 'f\n'})
    const xattrs = await execa('getfattr', ['-d', '-m', '-', path.join(to, 'opaque')])
    assert.doesNotMatch(xattrs.stdout, /overlay/)
  })

  test('a directory renamed under redirect_dir=on: its content appears under the new name', async () => {
    const base = tmp.base('redirect', {'from/a': 'a\n', 'from/sub/b': 'b\n', 'stay': 's\n'})
    await store.create('renamed', {base})
    // The store mounts without redirect_dir (renaming a merged directory then fails with EXDEV and
    // mv copies instead); a kernel or a Go build with redirect_dir=on leaves redirect xattrs instead.
    const work = path.join(tmp.dir, 'redirect-work')
    const mnt = path.join(tmp.dir, 'redirect-mnt')
    fs.mkdirSync(work)
    fs.mkdirSync(mnt)
    await execa('mount', ['-t', 'overlay', 'dot-test-redirect', '-o', `lowerdir=${base},upperdir=${store.layout.upper('renamed')},workdir=${work},redirect_dir=on`, mnt])
    try {
      fs.renameSync(path.join(mnt, 'from'), path.join(mnt, 'to'))
    } finally {
      await execa('umount', [mnt])
    }
    const redirect = await execa('getfattr', ['--only-values', '-n', 'trusted.overlay.redirect', path.join(store.layout.upper('renamed'), 'to')])
    assert.equal(redirect.stdout, 'from')

    assert.deepEqual(await diff('renamed'), {'/from': 'D', '/from/a': 'D', '/from/sub': 'D', '/from/sub/b': 'D', '/to': 'A', '/to/a': 'A', '/to/sub': 'A', '/to/sub/b': 'A'})
    const to = path.join(tmp.dir, 'redirect-out')
    const result = await dot('recover', 'renamed', '--to', to)
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(files(to), {'stay': 's\n', 'to/': '', 'to/a': 'a\n', 'to/sub/': '', 'to/sub/b': 'b\n'})
    const changes = path.join(tmp.dir, 'redirect-changes')
    const only = await dot('recover', 'renamed', '--to', changes, '--changes-only')
    assert.equal(only.code, 0, only.stderr)
    assert.deepEqual(files(changes), {'.docker-on-top-deletions': '/from\n/from/a\n/from/sub\n/from/sub/b\n', 'to/': '', 'to/a': 'a\n', 'to/sub/': '', 'to/sub/b': 'b\n'})
  })

  test('a volatile volume: its last changes can be salvaged until its next first mount', async () => {
    const base = tmp.base('volatile', {'file': 'base\n'})
    await store.create('vol', {base, volatile: 'true'})
    const mp = await store.mount('vol', 'run1')
    fs.writeFileSync(path.join(mp, 'result'), 'computed\n')
    fs.rmSync(path.join(mp, 'file'))
    await store.unmount('vol', 'run1')

    assert.deepEqual(await diff('vol'), {'/file': 'D', '/result': 'A'})
    const to = path.join(tmp.dir, 'volatile-out')
    const result = await dot('recover', 'vol', '--to', to, '--json')
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(files(to), {'result': 'computed\n'})

    await store.mount('vol', 'run2')
    await store.unmount('vol', 'run2')
    await store.close()
    assert.deepEqual(await diff('vol'), {}, 'the next first mount discarded them')
  })

  test('diff and recover say clearly when the base is gone or the volume does not exist', async () => {
    const base = tmp.base('vanishing', {'f': 'x'})
    await store.create('orphan', {base})
    fs.rmSync(base, {recursive: true})
    const d = await dot('diff', 'orphan')
    assert.equal(d.code, 2)
    assert.equal(d.stderr, `dot diff: base "${base}" of volume "orphan" does not exist\n`)
    const r = await dot('recover', 'orphan', '--to', path.join(tmp.dir, 'orphan-out'))
    assert.equal(r.code, 2)
    assert.match(r.stderr, /base ".*" of volume "orphan" does not exist/)
    const missing = await dot('diff', 'nope', '--json')
    assert.equal(missing.code, 3)
    assert.equal((parseJson(missing) as {error: {code: string}}).error.code, 'not-found')
    assert.deepEqual(tmp.mounts(), [])
  })
})
