import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {copyView} from './changes-fixture.js'
import {compareTrees, readTree, type Tree} from './recover-tree.js'
import {buildHistory, cliSnapshot} from './snapshot-fixture.js'

/** What `dot diff` should list between two views: A, C (type, mode, owner, mtime, content, xattrs), D. */
function expectedChanges(before: Tree, after: Tree): string[] {
  const lines: string[] = []
  for (const p of new Set([...before.keys(), ...after.keys()])) {
    if (p === '/') continue
    const a = before.get(p)
    const b = after.get(p)
    if (!a) lines.push(`A ${p}`)
    else if (!b) lines.push(`D ${p}`)
    else if ((['type', 'mode', 'owner', 'mtimeNs', 'content', 'xattrs'] as const).some((f) => a[f] !== b[f])) lines.push(`C ${p}`)
  }
  return lines.sort((x, y) => (x.slice(2) < y.slice(2) ? -1 : 1))
}

describe('snapshots: three layers, rollback, snapshot rm, diff --since, export', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-snapshots-')
  let store: VolumeStore
  const dot = (args: string[]) => runDot([...args, '--root', tmp.root], {timeoutMs: 120_000})
  let n = 0
  const view = async (name: string): Promise<Tree> => {
    const dir = path.join(tmp.dir, `v-${n++}`)
    await copyView(store, name, dir)
    return readTree(dir)
  }
  const same = (want: Tree, got: Tree, what: string) => assert.deepEqual(compareTrees(want, got), [], what)

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
  })
  after(() => tmp.cleanup())

  test('each snapshot keeps the view; rollback to each tag gives exactly its view', async () => {
    const snapped: Tree[] = []
    const {views} = await buildHistory(store, tmp, 'h', async (tag) => {
      await cliSnapshot(tmp.root, 'h', tag)
      snapped.push(await view('h'))
    })
    // The view right after each snapshot is the view right before it.
    for (const [i, tree] of snapped.entries()) same(views[i], tree, `after snapshot s${i + 1}`)
    same(views[3], await view('h'), 'the final view')
    const listed = parseJson(await dot(['snapshots', 'h', '--json'])) as {tag: string; createdAt: string; bytes: number}[]
    assert.deepEqual(listed.map((s) => s.tag), ['s1', 's2', 's3'])
    assert.ok(listed.every((s) => s.bytes > 0 && !Number.isNaN(Date.parse(s.createdAt))))
    assert.equal((await dot(['snapshots', 'h', '-q'])).stdout, 's1\ns2\ns3\n')
    const inspected = parseJson(await dot(['inspect', 'h'])) as {snapshots: number; changesBytes: number}[]
    assert.equal(inspected[0].snapshots, 3)
    const ls = await dot(['ls'])
    assert.match(ls.stdout, /SNAPSHOTS/)
    assert.match(ls.stdout.split('\n')[1], /\s3\s/)

    for (const [i, tag] of [[2, 's3'], [1, 's2'], [0, 's1']] as const) {
      const result = await dot(['rollback', 'h', tag, '--json'])
      assert.equal(result.code, 0, result.stderr)
      same(views[i], await view('h'), `rolled back to ${tag}`)
      assert.equal((await dot(['snapshots', 'h', '-q'])).stdout.trim().split('\n').at(-1), tag)
    }
    assert.deepEqual(tmp.mounts(), [])
  })

  test('removing a middle, the oldest, then the newest snapshot never changes the view; rollback after a removal still works', async () => {
    const {views} = await buildHistory(store, tmp, 'm', (tag) => cliSnapshot(tmp.root, 'm', tag))
    let imported = false
    const rm = async (tag: string, into: string) => {
      const result = await dot(['snapshot', 'rm', 'm', tag, '--json'])
      assert.equal(result.code, 0, result.stderr)
      assert.equal((parseJson(result) as {mergedInto: string}).mergedInto, into)
      // After the import below the root's mtime is the import's (a layer does not carry it).
      assert.deepEqual(compareTrees(views[3], await view('m'), {ignoreRootMtime: imported}), [], `after snapshot rm ${tag}`)
    }
    await rm('s2', 's3')
    // s3 now holds what s2 did as well: rolling back to it gives the view it had.
    const backup = path.join(tmp.dir, 'dropped.tar')
    assert.equal((await dot(['rollback', 'm', 's3', '--backup', backup])).code, 0)
    same(views[2], await view('m'), 'rolled back to s3 after s2 was merged into it')
    assert.equal((await dot(['import', 'm', '--from', backup, '--allow-links-out', '--allow-devices'])).code, 0)
    // A layer does not carry the root's own times (export.ts): the rest is exact.
    assert.deepEqual(compareTrees(views[3], await view('m'), {ignoreRootMtime: true}), [], 'the rollback backup imported again')
    imported = true
    await rm('s1', 's3')
    await rm('s3', 'upper')
    assert.equal(fs.existsSync(store.layout.layers('m')), false, 'back to the layout of a volume without snapshots')
  })

  test('diff --since lists exactly the later changes; export of the whole history imports elsewhere as the same view', async () => {
    const {base, views} = await buildHistory(store, tmp, 'd', (tag) => cliSnapshot(tmp.root, 'd', tag))
    for (const [i, tag] of [[0, 's1'], [1, 's2'], [2, 's3']] as const) {
      const diff = await dot(['diff', 'd', '--since', tag])
      assert.equal(diff.code, 0, diff.stderr)
      assert.deepEqual(diff.stdout.trim().split('\n').filter(Boolean), expectedChanges(views[i], views[3]), `diff --since ${tag}`)
    }
    const layer = path.join(tmp.dir, 'd.tar')
    const exported = await dot(['export', 'd', '--to', layer])
    assert.equal(exported.code, 0, exported.stderr)
    const created = await dot(['create', 'd2', '--base', base])
    assert.equal(created.code, 0, created.stderr)
    const imported = await dot(['import', 'd2', '--from', layer, '--allow-links-out', '--allow-devices'])
    assert.equal(imported.code, 0, imported.stderr)
    assert.deepEqual(compareTrees(views[3], await view('d2'), {ignoreRootMtime: true}), [])
    // Only the changes after s2, onto a volume that is at s2.
    const since = path.join(tmp.dir, 'd-since.tar')
    assert.equal((await dot(['export', 'd', '--since', 's2', '--to', since])).code, 0)
    assert.equal((await dot(['rollback', 'd', 's2'])).code, 0)
    assert.equal((await dot(['import', 'd', '--from', since, '--allow-links-out', '--allow-devices'])).code, 0)
    assert.deepEqual(compareTrees(views[3], await view('d'), {ignoreRootMtime: true}), [], 'the changes since s2 imported over s2')
    const recovered = path.join(tmp.dir, 'recovered')
    assert.equal((await dot(['recover', 'd', '--to', recovered])).code, 0)
    assert.deepEqual(compareTrees(views[3], await readTree(recovered), {ignoreRootMtime: true}), [], 'recover copies the layered view')
  })

  test('a volatile volume keeps its snapshots as its baseline: the wipe drops only the upper layer', async () => {
    const base = tmp.base('vol', {a: 'base\n'})
    await store.create('vol', {base, volatile: 'true'})
    let mp = await store.mount('vol', 'x')
    fs.writeFileSync(path.join(mp, 'kept'), 'in the snapshot\n')
    fs.chmodSync(mp, 0o751)
    await store.unmount('vol', 'x')
    assert.equal((await dot(['snapshot', 'vol', 'baseline'])).code, 0)
    const baseline = await view('vol')
    mp = await store.mount('vol', 'x')
    fs.writeFileSync(path.join(mp, 'scratch'), 'gone at the next first mount\n')
    fs.rmSync(path.join(mp, 'kept'))
    await store.unmount('vol', 'x')
    // The next first mount wipes the upper layer: back to the snapshot, top included.
    same(baseline, await view('vol'), 'the view after the wipe is the snapshot')
    assert.deepEqual((parseJson(await dot(['snapshots', 'vol', '--json'])) as {tag: string}[]).map((s) => s.tag), ['baseline'])
  })

  test('bad input: a clear message, the documented exit code, nothing written', async () => {
    const base = tmp.base('bad', {f: 'x'})
    assert.equal((await dot(['create', 'b', '--base', base])).code, 0)
    assert.equal((await dot(['snapshot', 'b', 'one'])).code, 0)
    const before = JSON.stringify(listing(store.layout.volume('b')))
    const cases: [string[], number, RegExp][] = [
      [['snapshot', 'b', '-x'], 2, /./],
      [['snapshot', 'b', 'a/b'], 2, /invalid snapshot tag "a\/b"/],
      [['snapshot', 'b', '.hidden'], 2, /starts with a letter or digit/],
      [['snapshot', 'b', 'x'.repeat(201)], 2, /at most 200/],
      [['snapshot', 'b', 'one'], 4, /already has a snapshot tagged "one"/],
      [['snapshot', 'nope'], 3, /no such volume: nope/],
      [['snapshots', 'nope'], 3, /no such volume: nope/],
      [['rollback', 'b', 'two'], 3, /no snapshot tagged "two"; its snapshots are one/],
      [['rollback', 'nope', 'one'], 3, /no such volume/],
      [['rollback', 'b', 'bad/tag'], 2, /invalid snapshot tag/],
      [['snapshot', 'rm', 'b', 'two'], 3, /no snapshot tagged "two"/],
      [['snapshot', 'rm', 'nope', 'one'], 3, /no such volume/],
      [['diff', 'b', '--since', 'two'], 3, /no snapshot tagged "two"/],
      [['export', 'b', '--since', 'two', '--to', path.join(tmp.dir, 'never.tar')], 3, /no snapshot tagged "two"/],
    ]
    for (const [args, code, message] of cases) {
      const result = await dot(args)
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, message, args.join(' '))
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
    }
    assert.equal(fs.existsSync(path.join(tmp.dir, 'never.tar')), false)
    await store.mount('b', 'busy')
    try {
      for (const args of [['snapshot', 'b', 'two'], ['rollback', 'b', 'one'], ['snapshot', 'rm', 'b', 'one']]) {
        const result = await dot(args)
        assert.equal(result.code, 5, `${args.join(' ')}: ${result.stderr}`)
        assert.match(result.stderr, /volume "b" is in use/)
      }
    } finally {
      await store.unmount('b', 'busy')
    }
    assert.equal(JSON.stringify(listing(store.layout.volume('b'))), before, 'nothing written')
    // A layers/ replaced by a symlink is never followed: every snapshot command refuses the volume.
    const victim = path.join(tmp.dir, 'victim')
    fs.mkdirSync(victim)
    assert.equal((await dot(['create', 'p', '--base', base])).code, 0)
    fs.symlinkSync(victim, store.layout.layers('p'))
    for (const args of [['snapshot', 'p', 'x'], ['snapshots', 'p'], ['rollback', 'p', 'x'], ['snapshot', 'rm', 'p', 'x'], ['mount', 'p']]) {
      const result = await dot(args)
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`)
      assert.match(result.stderr, /is a symbolic link/)
    }
    assert.deepEqual(fs.readdirSync(victim), [])
    const commit = await dot(['commit', 'b', '--yes'])
    assert.equal(commit.code, 2)
    assert.match(commit.stderr, /has 1 snapshot \(one\); dot commit writes only a volume without snapshots/)
  })
})

function listing(dir: string): string[] {
  return fs.readdirSync(dir, {recursive: true}).map(String).filter((p) => !p.startsWith('activemounts') && !p.startsWith('workdir') && !p.startsWith('mountpoint')).sort()
}
