import assert from 'node:assert/strict'
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, overlayCount, recordFiles, useStore} from './store-fixtures.js'

/** State left behind by reboots, crashes and admins, found again at the next mount. */
describe('store: recovering from state left behind', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  useStore('dot-test-recovery-', (t, s) => {
    tmp = t
    store = s
  })

  /**
   * A shell whose working directory is inside the view: it keeps the overlay busy, and on a line on
   * stdin writes leaked.txt through the (by then detached) old overlay.
   */
  const holdBusy = (mp: string): ChildProcess =>
    spawn('sh', ['-c', 'read line; echo leak > leaked.txt'], {cwd: mp, stdio: ['pipe', 'ignore', 'ignore']})
  const writeThroughOld = async (child: ChildProcess) => {
    const exited = new Promise((resolve) => child.on('exit', resolve))
    child.stdin?.end('go\n')
    await exited
  }

  /** What a reboot does to us: the overlay is gone, the records stay. */
  const unmountBehindOurBack = (mp: string) => execFileSync('umount', [mp])

  test('stale records after a reboot are dropped at the next mount; a normal volume keeps its changes', async () => {
    const base = tmp.base('reboot', {'b.txt': 'b'})
    await store.create('reboot', {base})
    const mp = await store.mount('reboot', 'before1')
    await store.mount('reboot', 'before2')
    fs.writeFileSync(path.join(mp, 'change'), 'kept')
    unmountBehindOurBack(mp)

    const stale = await store.get('reboot')
    assert.equal(stale.mounted, false, 'mounted comes from mountinfo, not from records or directories')
    assert.equal(stale.mountpoint, undefined)
    assert.deepEqual(stale.mounts, {before1: 1, before2: 1})

    // dockerd may still send the Unmount it owed: a success that changes nothing harmful.
    await store.unmount('reboot', 'before1')
    assert.equal(overlayCount(mp), 0)

    const again = await store.mount('reboot', 'after')
    assert.equal(overlayCount(again), 1)
    assert.deepEqual(recordFiles(store.layout.volume('reboot')), {after: {UsageCount: 1}}, 'stale records dropped')
    assert.equal(fs.readFileSync(path.join(again, 'change'), 'utf8'), 'kept')
    await store.unmount('reboot', 'after')
    assert.equal(overlayCount(again), 0)
  })

  test('stale records of a volatile volume: the next mount is a first mount, so it wipes', async () => {
    const base = tmp.base('reboot-volatile', {'b.txt': 'b'})
    await store.create('rebootvol', {base, volatile: 'true'})
    const mp = await store.mount('rebootvol', 'before')
    fs.writeFileSync(path.join(mp, 'change'), 'old run')
    unmountBehindOurBack(mp)
    const again = await store.mount('rebootvol', 'after')
    assert.deepEqual(fs.readdirSync(again), ['b.txt'])
    assert.deepEqual(recordFiles(store.layout.volume('rebootvol')), {after: {UsageCount: 1}})
    await store.unmount('rebootvol', 'after')
  })

  test('an overlay left mounted without records is reused by a normal volume, not stacked', async () => {
    const base = tmp.base('orphan', {'b.txt': 'b'})
    await store.create('orphan', {base})
    const mp = await store.mount('orphan', 'lost')
    fs.writeFileSync(path.join(mp, 'change'), 'kept')
    fs.rmSync(store.layout.activeMount('orphan', 'lost')) // e.g. an unmount that dropped the record, then failed
    assert.equal(overlayCount(mp), 1)

    const again = await store.mount('orphan', 'new')
    assert.equal(again, mp)
    assert.equal(overlayCount(mp), 1, 'reused, never stacked')
    assert.equal(fs.readFileSync(path.join(mp, 'change'), 'utf8'), 'kept')
    assert.deepEqual(recordFiles(store.layout.volume('orphan')), {new: {UsageCount: 1}})
    await store.unmount('orphan', 'new')
    assert.equal(overlayCount(mp), 0)
  })

  test('an overlay left mounted without records is detached and wiped by a volatile volume, not stacked', async () => {
    const base = tmp.base('orphan-volatile', {'b.txt': 'b'})
    await store.create('orphanvol', {base, volatile: 'true'})
    const mp = await store.mount('orphanvol', 'lost')
    fs.writeFileSync(path.join(mp, 'change'), 'old run')
    fs.rmSync(store.layout.activeMount('orphanvol', 'lost'))

    const again = await store.mount('orphanvol', 'new')
    assert.equal(overlayCount(again), 1, 'the old overlay went, one new one came')
    assert.deepEqual(fs.readdirSync(again), ['b.txt'], 'the view is fresh')
    assert.deepEqual(fs.readdirSync(store.layout.upper('orphanvol')), [])
    await store.unmount('orphanvol', 'new')
    assert.equal(overlayCount(again), 0)
  })

  test('a busy overlay left without records on a volatile volume: detached lazily, the new view is fresh and alone', async () => {
    const base = tmp.base('orphan-busy', {'b.txt': 'b'})
    const baseBefore = fingerprint(base)
    await store.create('orphanbusy', {base, volatile: 'true'})
    const mp = await store.mount('orphanbusy', 'lost')
    fs.writeFileSync(path.join(mp, 'change'), 'old run')
    fs.rmSync(store.layout.activeMount('orphanbusy', 'lost'))
    const fd = fs.openSync(path.join(mp, 'change'), 'r') // keeps the old overlay busy
    try {
      const again = await store.mount('orphanbusy', 'new')
      assert.equal(overlayCount(again), 1)
      assert.deepEqual(fs.readdirSync(again), ['b.txt'])
      fs.writeFileSync(path.join(again, 'fresh'), 'new run')
      assert.equal(fs.readFileSync(path.join(again, 'fresh'), 'utf8'), 'new run')
      await store.unmount('orphanbusy', 'new')
      assert.equal(overlayCount(again), 0)
    } finally {
      fs.closeSync(fd)
    }
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('volatile: an old overlay detached while busy (without records) never shares the fresh upper', async () => {
    const base = tmp.base('detached-orphan', {'b.txt': 'b'})
    await store.create('detachedorphan', {base, volatile: 'true'})
    const mp = await store.mount('detachedorphan', 'lost')
    fs.rmSync(store.layout.activeMount('detachedorphan', 'lost'))
    const child = holdBusy(mp) // only reads: upper/ stays empty
    try {
      const again = await store.mount('detachedorphan', 'new')
      await writeThroughOld(child)
      assert.deepEqual(fs.readdirSync(again), ['b.txt'], 'a write through the old overlay must not appear in the new view')
      assert.deepEqual(fs.readdirSync(store.layout.upper('detachedorphan')), [])
      await store.unmount('detachedorphan', 'new')
    } finally {
      child.kill()
    }
  })

  test('volatile: after a last unmount that had to detach a busy overlay, the next run starts fresh', async () => {
    const base = tmp.base('detached-last', {'b.txt': 'b'})
    await store.create('detachedlast', {base, volatile: 'true'})
    const mp = await store.mount('detachedlast', 'first')
    const child = holdBusy(mp)
    try {
      await store.unmount('detachedlast', 'first') // busy: detached lazily
      assert.equal(overlayCount(mp), 0)
      const again = await store.mount('detachedlast', 'second')
      await writeThroughOld(child)
      assert.deepEqual(fs.readdirSync(again), ['b.txt'])
      assert.deepEqual(fs.readdirSync(store.layout.upper('detachedlast')), [])
      await store.unmount('detachedlast', 'second')
    } finally {
      child.kill()
    }
  })

  test('a volume with garbage metadata: clear errors from get and mount, skipped by list, never mounted', async () => {
    await store.create('garbled', {base: tmp.base('garbled', {f: 'f'})})
    await store.create('healthy', {base: tmp.base('healthy')})
    fs.writeFileSync(store.layout.metadata('garbled'), '{"BaseDirPath": "/tru') // torn by hand or a disk error
    const unreadable = (err: Error & {code?: string}) => {
      assert.equal(err.code, 'internal')
      assert.match(err.message, /volume "garbled" has unreadable metadata \(.*metadata\.json\): metadata is not valid JSON/)
      return true
    }
    await assert.rejects(store.get('garbled'), unreadable)
    await assert.rejects(store.mount('garbled', 'x'), unreadable)
    assert.equal(overlayCount(store.layout.mountpoint('garbled')), 0)
    const listed = (await store.list()).map((v) => v.name)
    assert.ok(listed.includes('healthy') && !listed.includes('garbled'), 'list skips it instead of failing')
    assert.ok((await store.names()).includes('garbled'), 'but it is not hidden from names (gc reports it)')
  })

  test('metadata garbled while mounted: a Mount that joins the overlay and a non-last Unmount still work (they read none); the last Unmount and a first mount refuse', async () => {
    await store.create('torn', {base: tmp.base('torn', {f: 'f'})})
    const mp = await store.mount('torn', 'first')
    const file = store.layout.metadata('torn')
    const good = fs.readFileSync(file, 'utf8')
    fs.writeFileSync(file, '{"BaseDirPath": "/tru')
    assert.equal(await store.mount('torn', 'second'), mp, 'the second container joins the mounted view')
    assert.equal(overlayCount(mp), 1)
    await store.unmount('torn', 'second')
    // The last unmount decides by the metadata how to take the overlay down: it refuses, records kept.
    await assert.rejects(store.unmount('torn', 'first'), /volume "torn" has unreadable metadata/)
    fs.writeFileSync(file, good)
    await store.unmount('torn', 'first')
    assert.equal(overlayCount(mp), 0)
    fs.writeFileSync(file, '{"BaseDirPath": "/tru')
    await assert.rejects(store.mount('torn', 'third'), /volume "torn" has unreadable metadata/)
    assert.equal(overlayCount(mp), 0)
  })

  test('a base deleted after create: mount fails with a clear invalid error and nothing stays mounted', async () => {
    const base = tmp.base('vanishing', {'b.txt': 'b'})
    await store.create('vanishing', {base})
    fs.rmSync(base, {recursive: true})
    await assert.rejects(store.mount('vanishing', 'x'), (err: Error & {code?: string}) => {
      assert.equal(err.code, 'invalid')
      assert.match(err.message, /cannot mount volume "vanishing": base ".*vanishing" does not exist/)
      return true
    })
    const mp = store.layout.mountpoint('vanishing')
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(recordFiles(store.layout.volume('vanishing')), {})
    assert.equal((await store.get('vanishing')).mounted, false)

    // Replaced by a file: refused too.
    fs.writeFileSync(base, 'now a file')
    await assert.rejects(store.mount('vanishing', 'x'), {code: 'invalid', message: /is not a directory/})
    assert.equal(overlayCount(mp), 0)

    // Once the base is back, the volume works again.
    fs.rmSync(base)
    fs.mkdirSync(base)
    await store.mount('vanishing', 'x')
    assert.equal(overlayCount(mp), 1)
    await store.unmount('vanishing', 'x')
  })
})
