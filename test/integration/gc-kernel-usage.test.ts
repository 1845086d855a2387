import assert from 'node:assert/strict'
import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {overlaysInUse} from '../../src/core/repair/kernel-usage.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {inNamespace as inNamespaceOf, killAll} from '../helpers/namespace.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'

/**
 * "In use" read from the kernel: a process in a mount namespace of its own (unshare -m) that binds a
 * volume's overlay somewhere, as runc does for a container of any engine, makes the volume used; a
 * namespace that only inherited the volume's own mountpoint does not; and nothing does once it exits.
 */
describe('overlaysInUse: every mount namespace, from /proc', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-kernel-usage-')
  const children: ChildProcess[] = []
  let store: VolumeStore

  before(async () => {
    assertRoot()
    store = await VolumeStore.open({root: tmp.root})
    const base = tmp.base('b', {f: 'x'})
    for (const name of ['held', 'inherited', 'idle']) {
      await store.create(name, {base})
      await store.mount(name, randomBytes(32).toString('hex'))
    }
    // The same volume name under another root: its overlay is another device, never ours.
    const other = await VolumeStore.open({root: path.join(tmp.dir, 'other-root')})
    await other.create('idle', {base})
    await other.mount('idle', 'manual')
    await other.close()
  })
  after(async () => {
    for (const child of children) child.kill('SIGKILL')
    await store?.close()
    tmp.cleanup()
  })

  const inNamespace = (script: string) => inNamespaceOf(script, children)

  test('a namespace binding the overlay elsewhere uses it; one that only inherited the mountpoint does not', async () => {
    const target = path.join(tmp.dir, 'container-target')
    fs.mkdirSync(target)
    const holder = await inNamespace(`mount --bind ${store.layout.mountpoint('held')} ${target}`)
    await inNamespace('true')
    const usage = await overlaysInUse(store.layout, ['held', 'inherited', 'idle'])
    assert.deepEqual([...usage.users.keys()], ['held'])
    const [user] = usage.users.get('held')!
    assert.equal(user.mountpoint, target)
    assert.equal(user.namespace, fs.readlinkSync(`/proc/${holder.pid}/ns/mnt`))
    assert.ok(usage.namespaces >= 3, `read ${usage.namespaces} namespaces`)
  })

  test('once that process is gone, no one uses it', async () => {
    await killAll(children)
    assert.deepEqual([...(await overlaysInUse(store.layout, ['held', 'inherited', 'idle'])).users.keys()], [])
  })

  test('a volume that is not mounted is used by no one (and costs no /proc scan)', async () => {
    await store.create('never', {base: tmp.base('n')})
    const usage = await overlaysInUse(store.layout, ['never'])
    assert.equal(usage.users.size, 0)
    assert.equal(usage.namespaces, 0)
  })
})
