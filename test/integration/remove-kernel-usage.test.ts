import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {inNamespace, killAll} from '../helpers/namespace.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'

/**
 * dockerd's Remove vouches for its own mount records (it has no container on the volume), but not for
 * other engines': while another mount namespace holds the overlay, as a Podman container's does, the
 * Remove is refused as in use and nothing is lost; once that namespace is gone the Remove goes through.
 */
describe('Remove by dockerd with its records left: in use means in use in any namespace', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-remove-kernel-')
  const children: ChildProcess[] = []
  let store: VolumeStore

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
  })
  after(async () => {
    await killAll(children)
    await store?.close()
    tmp.cleanup()
  })

  test('refused while another namespace binds the overlay; done once it is gone', async () => {
    await store.create('held', {base: tmp.base('b', {f: 'x'})})
    const mountpoint = await store.mount('held', randomBytes(32).toString('hex'))
    fs.writeFileSync(path.join(mountpoint, 'written'), 'by a container')
    const target = path.join(tmp.dir, 'container-target')
    fs.mkdirSync(target)
    const holder = await inNamespace(`mount --bind ${mountpoint} ${target}`, children)
    await assert.rejects(store.remove('held', {byDocker: true}), (err: Error & {code?: string}) => {
      assert.equal(err.code, 'in-use')
      assert.match(err.message, new RegExp(`volume "held" is in use: its overlay is mounted in 1 other mount namespace \\(pid ${holder.pid} at ${target}\\)`))
      return true
    })
    assert.equal(fs.readFileSync(path.join(store.layout.upper('held'), 'written'), 'utf8'), 'by a container')
    assert.equal((await store.get('held')).mounted, true)
    await killAll(children)
    await store.remove('held', {byDocker: true})
    assert.deepEqual((await store.listBrief()).map((v) => v.name), [])
  })

  test('records of dockerd alone (no one holds the overlay) do not refuse it', async () => {
    await store.create('stale', {base: tmp.base('c')})
    await store.mount('stale', randomBytes(32).toString('hex'))
    await store.remove('stale', {byDocker: true})
    assert.deepEqual((await store.listBrief()).map((v) => v.name), [])
  })
})
