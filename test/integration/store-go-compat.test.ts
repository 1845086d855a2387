import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {fingerprint, overlayCount, recordFiles} from './store-fixtures.js'

/**
 * A volume tree exactly as the Go original (kolayne/docker-on-top v0.1.2) leaves it: metadata.json with
 * only BaseDirPath and Volatile (mode 0666, no newline), activemounts/<id> holding {"UsageCount": n},
 * upper/ with changes, workdir/ and mountpoint/ present.
 */
function writeGoTree(root: string, name: string, base: string, options: {volatile?: boolean; records?: Record<string, number>} = {}): string {
  const dir = path.join(root, name)
  fs.mkdirSync(path.join(dir, 'activemounts'), {recursive: true})
  for (const sub of ['upper', 'workdir', 'mountpoint']) fs.mkdirSync(path.join(dir, sub), {recursive: true})
  fs.writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({BaseDirPath: base, Volatile: options.volatile ?? false}), {mode: 0o666})
  for (const [id, count] of Object.entries(options.records ?? {})) {
    fs.writeFileSync(path.join(dir, 'activemounts', id), `{"UsageCount": ${count}}`)
  }
  return dir
}

describe('store: trees written by the Go original', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-gocompat-')
    fs.mkdirSync(tmp.root, {recursive: true})
    store = await VolumeStore.open({root: tmp.root})
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })

  test('an idle Go volume is listed, mounts with its changes, and keeps new ones', async () => {
    const base = tmp.base('go-idle', {'base.txt': 'base\n', 'deleted-by-go.txt': 'x'})
    const baseBefore = fingerprint(base)
    const dir = writeGoTree(tmp.root, 'goidle', base)
    // Changes made while the Go original ran: a new file and a whiteout.
    fs.writeFileSync(path.join(dir, 'upper', 'from-go.txt'), 'written under Go\n')
    execFileSync('mknod', [path.join(dir, 'upper', 'deleted-by-go.txt'), 'c', '0', '0'])

    assert.deepEqual(await store.names(), ['goidle'])
    const volume = await store.get('goidle')
    assert.equal(volume.base, base)
    assert.equal(volume.volatile, false)
    assert.equal(volume.mounted, false)
    assert.deepEqual(volume.mounts, {})
    assert.ok(volume.createdAt instanceof Date && !Number.isNaN(volume.createdAt.getTime()), 'createdAt falls back to the file time')
    assert.ok(Math.abs(volume.createdAt.getTime() - Date.now()) < 60_000)

    const mp = await store.mount('goidle', 'ours')
    assert.deepEqual(fs.readdirSync(mp).sort(), ['base.txt', 'from-go.txt'])
    assert.equal(fs.readFileSync(path.join(mp, 'from-go.txt'), 'utf8'), 'written under Go\n')
    fs.writeFileSync(path.join(mp, 'from-us.txt'), 'written under dot\n')
    // Our record is in the Go format, so the Go original could read it back.
    assert.deepEqual(recordFiles(dir), {ours: {UsageCount: 1}})
    await store.unmount('goidle', 'ours')
    assert.equal(overlayCount(mp), 0)

    assert.equal(fs.readFileSync(path.join(dir, 'upper', 'from-go.txt'), 'utf8'), 'written under Go\n')
    assert.equal(fs.readFileSync(path.join(dir, 'upper', 'from-us.txt'), 'utf8'), 'written under dot\n')
    // We read the Go metadata as it is: not rewritten.
    assert.equal(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8'), JSON.stringify({BaseDirPath: base, Volatile: false}))
    const again = await store.mount('goidle', 'ours2')
    assert.deepEqual(fs.readdirSync(again).sort(), ['base.txt', 'from-go.txt', 'from-us.txt'])
    await store.unmount('goidle', 'ours2')
    assert.deepEqual(fingerprint(base), baseBefore)
  })

  test('a Go volume mounted by the Go original (overlay plus records) is joined, never stacked', async () => {
    const base = tmp.base('go-live', {'base.txt': 'base\n'})
    const dir = writeGoTree(tmp.root, 'golive', base, {records: {gocontainer: 2}})
    // Mount the overlay as the Go original does.
    execFileSync('mount', ['-t', 'overlay', 'docker-on-top_golive', '-o', `lowerdir=${base},upperdir=${dir}/upper,workdir=${dir}/workdir`, `${dir}/mountpoint`])
    const mpDir = path.join(dir, 'mountpoint')
    fs.writeFileSync(path.join(mpDir, 'live.txt'), 'written by a container under Go\n')

    const volume = await store.get('golive')
    assert.equal(volume.mounted, true)
    assert.equal(volume.mountpoint, mpDir)
    assert.deepEqual(volume.mounts, {gocontainer: 2})

    const mp = await store.mount('golive', 'new')
    assert.equal(mp, mpDir)
    assert.equal(overlayCount(mp), 1, 'joined the existing overlay')
    assert.equal(fs.readFileSync(path.join(mp, 'live.txt'), 'utf8'), 'written by a container under Go\n')
    assert.deepEqual(recordFiles(dir), {gocontainer: {UsageCount: 2}, new: {UsageCount: 1}})

    await store.unmount('golive', 'gocontainer')
    await store.unmount('golive', 'new')
    assert.equal(overlayCount(mp), 1, 'gocontainer still holds one use')
    await store.unmount('golive', 'gocontainer')
    assert.equal(overlayCount(mp), 0)
    assert.deepEqual(recordFiles(dir), {})
    assert.equal(fs.readFileSync(path.join(dir, 'upper', 'live.txt'), 'utf8'), 'written by a container under Go\n')
  })

  test('a volatile Go volume is wiped at its next first mount, like ours', async () => {
    const base = tmp.base('go-volatile', {'base.txt': 'base\n'})
    const dir = writeGoTree(tmp.root, 'govolatile', base, {volatile: true})
    fs.writeFileSync(path.join(dir, 'upper', 'old-run.txt'), 'old')
    assert.equal((await store.get('govolatile')).volatile, true)
    const mp = await store.mount('govolatile', 'x')
    assert.deepEqual(fs.readdirSync(mp), ['base.txt'])
    await store.unmount('govolatile', 'x')
  })
})
