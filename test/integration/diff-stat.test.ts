import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import type {DiffStat} from '../../src/core/diff/diff-stat.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

/**
 * `dot diff --stat` on an upper layer written by a kernel mount with redirect_dir=on: a directory
 * renamed (then one file in it rewritten, one deleted), plus a file added, one changed, one deleted.
 * The rename is one line, not every entry deleted and added; the plain diff still lists every path.
 */
describe('dot diff --stat', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-diff-stat-')
  let store: VolumeStore

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
    const base = tmp.base('b', {'data/one': '1'.repeat(1000), 'data/sub/two': '2'.repeat(2000), 'data/gone-later': 'g'.repeat(300), 'edit.txt': 'e'.repeat(50), 'old.txt': 'o'.repeat(70), 'stay': 's'})
    await store.create('v', {base})
    const work = path.join(tmp.dir, 'work')
    const mnt = path.join(tmp.dir, 'mnt')
    fs.mkdirSync(work)
    fs.mkdirSync(mnt)
    await execa('mount', ['-t', 'overlay', 'dot-test-diff-stat', '-o', `lowerdir=${base},upperdir=${store.layout.upper('v')},workdir=${work},redirect_dir=on`, mnt])
    try {
      fs.renameSync(path.join(mnt, 'data'), path.join(mnt, 'archive'))
      fs.writeFileSync(path.join(mnt, 'archive', 'one'), 'rewritten')
      fs.rmSync(path.join(mnt, 'archive', 'gone-later'))
      fs.writeFileSync(path.join(mnt, 'new.txt'), 'n'.repeat(400))
      fs.writeFileSync(path.join(mnt, 'edit.txt'), 'x'.repeat(60))
      fs.rmSync(path.join(mnt, 'old.txt'))
    } finally {
      await execa('umount', [mnt])
    }
  })
  after(async () => {
    await store?.close()
    tmp.cleanup()
  })

  test('a renamed directory counts once; the other changes by kind, with their bytes', async () => {
    const result = await runDot(['diff', 'v', '--stat', '--json', '--root', tmp.root])
    assert.equal(result.code, 0, result.stderr)
    const stat = parseJson(result) as DiffStat
    // Moved with /data: the directory, sub/, sub/two (one was rewritten: a change of its own).
    assert.deepEqual(stat.renamed, [{from: '/data', to: '/archive', entries: 3, bytes: 2000}])
    // Added: /new.txt and the rewritten /archive/one; changed: /edit.txt; deleted: /old.txt, and
    // /data/one and /data/gone-later (nothing in the view shows their base content any more).
    assert.deepEqual(stat.added, {entries: 2, bytes: 400 + 'rewritten'.length})
    assert.deepEqual(stat.changed, {entries: 1, bytes: 60})
    assert.deepEqual(stat.deleted, {entries: 3, bytes: 70 + 1000 + 300})

    const human = await runDot(['diff', 'v', '--stat', '--root', tmp.root])
    assert.equal(human.code, 0, human.stderr)
    assert.deepEqual(human.stdout.trimEnd().split('\n'), ['R /data -> /archive  (3 entries, 2.0 KiB)', 'A 2 entries, 409 B', 'C 1 entry, 60 B', 'D 3 entries, 1.3 KiB'])
  })

  test('the full per-file list is still there without --stat', async () => {
    const result = await runDot(['diff', 'v', '--json', '--root', tmp.root])
    const kinds = Object.fromEntries((parseJson(result) as {path: string; kind: string}[]).map((c) => [c.path, c.kind]))
    assert.equal(kinds['/data/sub/two'], 'D')
    assert.equal(kinds['/archive/sub/two'], 'A')
    assert.equal(kinds['/data'], 'D')
    assert.equal(kinds['/archive'], 'A')
  })
})
