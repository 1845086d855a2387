import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {TempRoot} from '../helpers/temp-root.js'

/** Create touches no mounts, so this suite runs without root too. */
describe('store: create', () => {
  let tmp: TempRoot
  let store: VolumeStore
  before(async () => {
    tmp = new TempRoot('dot-test-create-')
    store = await VolumeStore.open({root: tmp.root})
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })

  test('a refused create leaves nothing behind, not even the root directory', async () => {
    const file = path.join(tmp.dir, 'a-file')
    fs.writeFileSync(file, 'x')
    const refusals: [string, unknown, RegExp][] = [
      ['../x', {base: tmp.dir}, /contains "\/"/],
      ['ok', {}, /missing required option "base"/],
      ['ok', {base: 'relative/dir'}, /not an absolute path/],
      ['ok', {base: path.join(tmp.dir, 'missing')}, /does not exist/],
      ['ok', {base: file}, /is not a directory/],
      ['ok', {base: tmp.dir}, /contains the docker-on-top root/],
      ['ok', {base: '/srv', quota: '1G'}, /unknown option "quota"/],
      ['ok', {base: '/srv', volatile: 'maybe'}, /for option "volatile"/],
    ]
    for (const [name, opts, message] of refusals) {
      await assert.rejects(store.create(name, opts), (err: Error & {code?: string}) => {
        assert.equal(err.code, 'invalid', `${name} ${JSON.stringify(opts)}`)
        assert.match(err.message, message)
        return true
      })
    }
    assert.equal(fs.existsSync(tmp.root), false)
  })

  test('a base inside the root is refused once the root exists', async () => {
    const base = tmp.base('first')
    await store.create('first', {base})
    await assert.rejects(store.create('inner', {base: store.layout.upper('first')}), {code: 'invalid', message: /is inside the docker-on-top root/})
    assert.equal(fs.existsSync(store.layout.volume('inner')), false)
  })

  test('the tree on disk is the documented one: metadata.json (0644), upper/, activemounts/; nothing mount-only, no scratch', async () => {
    const base = tmp.base('layout')
    const before = Date.now()
    const volume = await store.create('layout', {base: base + '/', volatile: 'Yes'})
    assert.equal(volume.name, 'layout')
    assert.equal(volume.base, base, 'the trailing slash is tidied away')
    assert.equal(volume.volatile, true)
    assert.equal(volume.mounted, false)
    assert.equal(volume.mountpoint, undefined)
    assert.deepEqual(volume.mounts, {})
    assert.equal(volume.upper, store.layout.upper('layout'))
    assert.ok(volume.createdAt.getTime() >= before - 1000 && volume.createdAt.getTime() <= Date.now())
    const dir = store.layout.volume('layout')
    assert.deepEqual(fs.readdirSync(dir).sort(), ['activemounts', 'metadata.json', 'upper'])
    assert.deepEqual(fs.readdirSync(path.join(dir, 'upper')), [])
    assert.deepEqual(fs.readdirSync(path.join(dir, 'activemounts')), [])
    assert.equal(fs.statSync(path.join(dir, 'metadata.json')).mode & 0o777, 0o644)
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'metadata.json'), 'utf8')), {
      BaseDirPath: base,
      Volatile: true,
      CreatedAt: volume.createdAt.toISOString(),
    })
    assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.')), [])
  })

  test('a name is created once; the second create says exists and changes nothing', async () => {
    const base = tmp.base('once')
    const first = await store.create('once', {base})
    const metadata = fs.readFileSync(store.layout.metadata('once'), 'utf8')
    await assert.rejects(store.create('once', {base: tmp.base('other'), volatile: 'true'}), {code: 'exists', message: 'volume "once" already exists'})
    assert.equal(fs.readFileSync(store.layout.metadata('once'), 'utf8'), metadata)
    assert.deepEqual(await store.get('once'), first)
  })

  test('names and list show created volumes, sorted; get echoes the name', async () => {
    const names = await store.names()
    assert.deepEqual(names, [...names].sort())
    assert.ok(['first', 'layout', 'once'].every((n) => names.includes(n)))
    assert.deepEqual((await store.list()).map((v) => v.name), names)
    assert.deepEqual(await store.listBrief(), names.map((name) => ({name})))
    assert.equal((await store.get('layout')).name, 'layout')
    await assert.rejects(store.get('Layout'), {code: 'not-found'})
  })
})
