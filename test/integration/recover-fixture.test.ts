import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {compareTrees, readTree, statSnapshot, type Tree} from './recover-tree.js'

const MANY = 10_000
const GIB = 1024 ** 3
const OLD_TIME = new Date('2001-02-03T04:05:06.789Z')

/**
 * The fixture: a volume whose upper layer holds new, modified and deleted files, a deleted
 * directory, a directory deleted and recreated (opaque), a renamed file, symlinks, a hard link pair,
 * unusual modes, owners other than root, a 1 GiB sparse file and 10,000 small files, all written
 * through the mounted volume. `dot diff` must name every change; `dot recover --to`, `--tar` (extracted
 * by GNU tar) and `--changes-only` must agree with a `cp -a` of the mounted view taken while mounted.
 */
describe('dot diff and dot recover on a real upper layer', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-recover-')
  let store: VolumeStore
  let reference: Tree
  let upperBefore: string[]
  let baseBefore: string[]
  const out = (name: string) => path.join(tmp.dir, 'out', name)
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root], {timeoutMs: 120_000})

  before(async () => {
    assertRoot()
    const base = tmp.base('data', {
      'keep.txt': 'unchanged\n',
      'modify.txt': 'original\n',
      'delete.txt': 'to be deleted\n',
      'chmod.txt': 'only the mode changes\n',
      'rename-me.txt': 'renamed\n',
      'olddir/x': 'x\n',
      'olddir/y/z': 'z\n',
      'redo/old1': 'old\n',
      'redo/keep-name': 'old content\n',
      'sub/deep/file': 'deep\n',
      'file-over-dir/child': 'child\n',
    })
    fs.symlinkSync('keep.txt', path.join(base, 'link-to-keep'))
    store = await VolumeStore.open({root: tmp.root})
    await store.create('v', {base})
    const mp = await store.mount('v', 'fixture')
    const t0 = Date.now()
    const lap = (what: string) => console.log(`${what}: ${Date.now() - t0} ms`)
    const at = (p: string) => path.join(mp, p)

    fs.appendFileSync(at('modify.txt'), 'more\n')
    fs.rmSync(at('delete.txt'))
    fs.chmodSync(at('chmod.txt'), 0o600)
    fs.renameSync(at('rename-me.txt'), at('renamed.txt'))
    fs.rmSync(at('olddir'), {recursive: true})
    fs.rmSync(at('redo'), {recursive: true})
    fs.mkdirSync(at('redo'))
    fs.writeFileSync(at('redo/keep-name'), 'new content\n')
    fs.writeFileSync(at('redo/fresh'), 'fresh\n')
    fs.appendFileSync(at('sub/deep/file'), 'deeper\n')
    fs.rmSync(at('file-over-dir'), {recursive: true})
    fs.writeFileSync(at('file-over-dir'), 'now a file\n')

    fs.writeFileSync(at('new.txt'), 'new\n')
    fs.mkdirSync(at('newdir/inner'), {recursive: true})
    fs.writeFileSync(at('newdir/a'), 'a\n')
    fs.symlinkSync('new.txt', at('newlink'))
    fs.symlinkSync('/nonexistent/target', at('dangling'))
    fs.symlinkSync('../new.txt', at('newdir/uplink'))
    fs.writeFileSync(at('hard1'), 'one inode, two names\n')
    fs.linkSync(at('hard1'), at('hard2'))
    fs.writeFileSync(at('setuid'), '#!/bin/sh\n')
    fs.chmodSync(at('setuid'), 0o4755)
    fs.writeFileSync(at('setgid'), 'g\n')
    fs.chmodSync(at('setgid'), 0o2711)
    fs.writeFileSync(at('nothing'), 'no permissions at all\n')
    fs.chmodSync(at('nothing'), 0o000)
    fs.mkdirSync(at('sticky'))
    fs.chmodSync(at('sticky'), 0o1777)
    fs.writeFileSync(at('owned.txt'), 'not root\n')
    fs.chownSync(at('owned.txt'), 1234, 5678)
    fs.mkdirSync(at('owned-dir'))
    fs.chownSync(at('owned-dir'), 4321, 4321)
    fs.lchownSync(at('newlink'), 1234, 1234)
    fs.writeFileSync(at('old-time.txt'), 'old\n')
    fs.utimesSync(at('old-time.txt'), OLD_TIME, OLD_TIME)
    await execa('setfattr', ['-n', 'user.dot-test', '-v', 'kept', at('new.txt')])
    await execa('mkfifo', [at('fifo')])
    await execa('mknod', [at('null-device'), 'c', '1', '3'])
    // 1 GiB, a few bytes of data in the middle: a copy that loses the holes would take a GiB of disk.
    const sparse = fs.openSync(at('sparse.img'), 'w')
    fs.writeSync(sparse, 'data in the middle', GIB / 2)
    fs.ftruncateSync(sparse, GIB)
    fs.closeSync(sparse)
    fs.mkdirSync(at('many'))
    for (let i = 0; i < MANY; i++) fs.writeFileSync(at(`many/f${String(i).padStart(5, '0')}`), `small file ${i}\n`)

    lap('written')
    // The mounted view as containers see it, copied by cp -a while mounted: what recover must reproduce.
    fs.mkdirSync(out('reference'), {recursive: true})
    await execa('cp', ['-a', `${mp}/.`, out('reference')])
    lap('copied')
    reference = await readTree(out('reference'))
    lap('read')
    await store.unmount('v', 'fixture')
    upperBefore = statSnapshot(store.layout.upper('v'))
    baseBefore = statSnapshot(base)
  })
  after(() => tmp.cleanup())

  test('dot diff names each change, sorted, docker diff style', async () => {
    const result = await dot('diff', 'v', '--json')
    assert.equal(result.code, 0, result.stderr)
    const changes = parseJson(result) as {path: string; kind: string}[]
    const paths = changes.map((c) => c.path)
    assert.deepEqual(paths, [...paths].sort(), 'sorted by path')
    const many = changes.filter((c) => c.path.startsWith('/many/'))
    assert.equal(many.length, MANY)
    assert.ok(many.every((c) => c.kind === 'A'))
    const rest = Object.fromEntries(changes.filter((c) => !c.path.startsWith('/many/')).map((c) => [c.path, c.kind]))
    assert.deepEqual(rest, {
      '/chmod.txt': 'C', // copied up for a metadata change only
      '/dangling': 'A',
      '/delete.txt': 'D',
      '/fifo': 'A',
      '/file-over-dir': 'C', // a directory replaced by a file: its content is gone
      '/file-over-dir/child': 'D',
      '/hard1': 'A',
      '/hard2': 'A',
      '/many': 'A',
      '/modify.txt': 'C',
      '/new.txt': 'A',
      '/newdir': 'A',
      '/newdir/a': 'A',
      '/newdir/inner': 'A',
      '/newdir/uplink': 'A',
      '/newlink': 'A',
      '/nothing': 'A',
      '/null-device': 'A',
      '/old-time.txt': 'A',
      '/olddir': 'D', // a deleted directory: a whiteout, and all it held
      '/olddir/x': 'D',
      '/olddir/y': 'D',
      '/olddir/y/z': 'D',
      '/owned-dir': 'A',
      '/owned.txt': 'A',
      '/redo': 'C', // deleted and recreated: opaque, the base content is gone
      '/redo/fresh': 'A',
      '/redo/keep-name': 'C',
      '/redo/old1': 'D',
      '/rename-me.txt': 'D', // a rename is a delete plus an add
      '/renamed.txt': 'A',
      '/setgid': 'A',
      '/setuid': 'A',
      '/sparse.img': 'A',
      '/sticky': 'A',
      '/sub/deep/file': 'C', // its parents were only copied up to hold it: not listed
    })

    const human = await dot('diff', 'v')
    assert.equal(human.code, 0, human.stderr)
    const lines = human.stdout.trimEnd().split('\n')
    assert.equal(lines.length, changes.length)
    assert.deepEqual(lines.slice(0, 3), changes.slice(0, 3).map((c) => `${c.kind} ${c.path}`))
  })

  test('recover --to writes the mounted view exactly (content, type, mode, owner, mtime, links)', async () => {
    const started = Date.now()
    const result = await dot('recover', 'v', '--to', out('to'), '--json')
    assert.equal(result.code, 0, result.stderr)
    const report = parseJson(result) as {to: string; changesOnly: boolean; deleted: string[]; warnings: string[]}
    assert.equal(report.to, out('to'))
    assert.deepEqual(report.warnings, [])
    assert.deepEqual(compareTrees(reference, await readTree(out('to'))), [])
    const sparse = fs.statSync(path.join(out('to'), 'sparse.img'))
    assert.equal(sparse.size, GIB)
    assert.ok(sparse.blocks * 512 < 1024 * 1024, `sparse file stayed sparse (${sparse.blocks} blocks)`)
    console.log(`recover --to: ${Date.now() - started} ms`)
  })

  test('recover --tar round-trips through GNU tar to the same tree', async () => {
    fs.mkdirSync(out('tar'), {recursive: true})
    // dot's stdout straight into tar -x, as the README shows; pipefail so a failing dot fails the test.
    const script = 'set -o pipefail; node "$0" recover v --tar --root "$1" | tar -x -C "$2" --xattrs --xattrs-include="*"'
    const result = await execa('bash', ['-c', script, DOT_BIN, tmp.root, out('tar')], {reject: false})
    assert.equal(result.exitCode, 0, result.stderr)
    assert.equal(result.stderr, '', 'nothing on stderr when it is not a terminal (no progress bar)')
    assert.deepEqual(compareTrees(reference, await readTree(out('tar'))), [])
  })

  test('recover --changes-only writes only what changed and lists the deletions', async () => {
    const diff = parseJson(await dot('diff', 'v', '--json')) as {path: string; kind: string}[]
    const result = await dot('recover', 'v', '--to', out('changes'), '--changes-only')
    assert.equal(result.code, 0, result.stderr)
    const [first, ...deletions] = result.stdout.trimEnd().split('\n')
    const listFile = path.join(out('changes'), '.docker-on-top-deletions')
    assert.equal(first, `wrote volume "v" (changes only) into ${out('changes')} (deletions listed in ${listFile})`)
    assert.deepEqual(deletions, diff.filter((c) => c.kind === 'D').map((c) => `D ${c.path}`))
    // The same list, in the target: a changes-only copy carries its deletions along.
    assert.equal(fs.readFileSync(listFile, 'utf8'), diff.filter((c) => c.kind === 'D').map((c) => `${c.path}\n`).join(''))
    // Out of the tree compared below; then the root's times back as the copy had them.
    const rootTimes = fs.statSync(out('changes'), {bigint: true})
    fs.rmSync(listFile)
    await execa('touch', ['-m', '-d', `@${rootTimes.mtimeNs / 1_000_000_000n}.${(rootTimes.mtimeNs % 1_000_000_000n).toString().padStart(9, '0')}`, out('changes')])

    const written = await readTree(out('changes'))
    const changed = new Set(diff.filter((c) => c.kind !== 'D').map((c) => c.path))
    const parents = new Set(['/', '/sub', '/sub/deep'])
    for (const p of changed) assert.ok(written.has(p), `${p} written`)
    for (const p of written.keys()) assert.ok(changed.has(p) || parents.has(p), `${p} is a change or a parent of one`)
    // Unchanged base files stay out, and whiteouts never leak.
    for (const p of ['/keep.txt', '/link-to-keep', '/delete.txt', '/olddir', '/redo/old1']) assert.ok(!written.has(p), `${p} not written`)
    // Everything written is as in the full view: hard links, modes, owners, times (the root's too).
    const sameAsReference = new Map([...reference].filter(([p]) => written.has(p)))
    assert.deepEqual(compareTrees(sameAsReference, written), [])
  })

  test('recover --tar --changes-only lists the deletions on stderr, not in the archive', async () => {
    const script = 'set -o pipefail; node "$0" recover v --tar --changes-only --root "$1" | tar -t'
    const result = await execa('bash', ['-c', script, DOT_BIN, tmp.root], {reject: false})
    assert.equal(result.exitCode, 0, result.stderr)
    assert.ok(result.stderr.split('\n').includes('D /rename-me.txt'), result.stderr)
    const members = result.stdout.split('\n').filter(Boolean).map((m) => m.replace(/\/$/, ''))
    const diff = parseJson(await dot('diff', 'v', '--json')) as {path: string; kind: string}[]
    const expected = ['.', './sub', './sub/deep', ...diff.filter((c) => c.kind !== 'D').map((c) => `.${c.path}`)]
    assert.deepEqual([...members].sort(), expected.sort(), 'one member per change that is not a deletion, plus the parents')
  })

  test('the volume and its base are unchanged, nothing is left mounted or behind', () => {
    assert.deepEqual(statSnapshot(store.layout.upper('v')), upperBefore)
    assert.deepEqual(statSnapshot(path.join(tmp.dir, 'bases', 'data')), baseBefore)
    assert.deepEqual(tmp.mounts(), [])
    assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.')), [])
  })

  test('recover refuses a non-empty target, a target in the base, and a mounted volume unless --force', async () => {
    const base = tmp.base('small', {'file': 'base\n'})
    await store.create('small', {base})
    fs.mkdirSync(out('full'), {recursive: true})
    fs.writeFileSync(path.join(out('full'), 'precious'), 'do not overwrite')
    const full = await dot('recover', 'small', '--to', out('full'))
    assert.equal(full.code, 4)
    assert.match(full.stderr, /refusing to write into .*full: it is not empty/)
    assert.deepEqual(fs.readdirSync(out('full')), ['precious'])

    const inBase = await dot('recover', 'small', '--to', path.join(base, 'copy'))
    assert.equal(inBase.code, 2)
    assert.match(inBase.stderr, /inside the base of volume "small"/)
    assert.ok(!fs.existsSync(path.join(base, 'copy')))
    const inRoot = await dot('recover', 'small', '--to', path.join(tmp.root, 'small', 'upper', 'x'))
    assert.equal(inRoot.code, 2)
    assert.match(inRoot.stderr, /inside the store root/)

    const missing = await dot('recover', 'nope', '--to', out('nope'))
    assert.equal(missing.code, 3)
    const both = await dot('recover', 'small', '--to', out('both'), '--tar')
    assert.equal(both.code, 2)
    const tarJson = await dot('recover', 'small', '--tar', '--json')
    assert.equal(tarJson.code, 2)
    assert.match((parseJson(tarJson) as {error: {message: string}}).error.message, /--tar .* --json/)

    const mp = await store.mount('small', 'busy')
    try {
      fs.writeFileSync(path.join(mp, 'written-while-mounted'), 'live\n')
      const refused = await dot('recover', 'small', '--to', out('mounted'), '--json')
      assert.equal(refused.code, 5)
      assert.match((parseJson(refused) as {error: {message: string}}).error.message, /is mounted .* --force/)
      assert.ok(!fs.existsSync(out('mounted')))
      const forced = await dot('recover', 'small', '--to', out('mounted'), '--force')
      assert.equal(forced.code, 0, forced.stderr)
      assert.match(forced.stderr, /warning: volume "small" was in use while it was copied: the copy may be inconsistent/)
      assert.equal(fs.readFileSync(path.join(out('mounted'), 'written-while-mounted'), 'utf8'), 'live\n')
      assert.equal(fs.readFileSync(path.join(out('mounted'), 'file'), 'utf8'), 'base\n')
      assert.deepEqual(tmp.mounts(), [store.layout.mountpoint('small')], 'only the volume itself is mounted afterwards')
    } finally {
      await store.unmount('small', 'busy')
    }
  })
})
