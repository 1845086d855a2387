import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {lowerLayerDirs} from '../../src/core/disk/layer-index.js'
import {type MountEntry, parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {SyscallMounter} from '../../src/core/kernel/syscall-mounter.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {lowerLayers, usesLowerdirAppend} from '../helpers/lower-layers.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'
import {cliSnapshot} from './snapshot-fixture.js'

function overlayOn(mountpoint: string): MountEntry {
  const entries = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.fstype === 'overlay' && e.mountpoint === mountpoint)
  assert.equal(entries.length, 1, `one overlay on ${mountpoint}`)
  return entries[0]
}

/** How the shared benchmark harness counts a base's overlays: super options' lowerdir= or lowerdir+= values equal to it. */
function overlaysOver(base: string): number {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.fstype === 'overlay' && lowerLayers(e.superOptions).includes(base)).length
}

/**
 * A volume's overlay names its real base in the mount table (`lowerdir+=`, the base opened and checked
 * at mount, handed to the kernel as that open directory), with its snapshot layers above it; where the
 * new mount API is not used, it is mount(2) with the base as `/proc/<pid>/fd/<n>`, as before.
 */
describe('the mount table shows a volume\'s real layers', rootOnly(), () => {
  let tmp: TempRoot
  let store: VolumeStore
  const dot = (env: NodeJS.ProcessEnv, ...command: string[]) => runDot(dotArgs(tmp.root, command), {env})

  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-mount-table-')
    store = await VolumeStore.open({root: tmp.root})
  })
  after(async () => {
    await store?.close()
    tmp?.cleanup()
  })

  test('a mounted volume: its base by its path, once, as the only lower layer; no /proc fd path', async () => {
    const base = tmp.base('plain', {'f.txt': 'base\n'})
    await store.create('plain', {base})
    const mountpoint = await store.mount('plain', 'manual')
    try {
      const {superOptions} = overlayOn(mountpoint)
      assert.ok(usesLowerdirAppend(superOptions), superOptions)
      assert.deepEqual(lowerLayers(superOptions), [base])
      assert.doesNotMatch(superOptions, /\/proc\//)
      assert.equal(overlaysOver(base), 1, 'counted once by the harness\'s rule')
      assert.equal(fs.readFileSync(path.join(mountpoint, 'f.txt'), 'utf8'), 'base\n')
    } finally {
      await store.unmount('plain', 'manual')
    }
    assert.equal(overlaysOver(base), 0)
  })

  test('mounted by the CLI (its process gone since) and with a base given through a symlink: the real path', async () => {
    const real = tmp.base('real', {'real.txt': 'real\n'})
    const link = path.join(tmp.dir, 'bases', 'link')
    fs.symlinkSync(real, link)
    assert.equal((await dot({}, 'create', 'linked', '--base', link)).code, 0)
    const result = await dot({}, 'mount', 'linked')
    assert.equal(result.code, 0, result.stderr)
    const mountpoint = path.join(tmp.root, 'linked', 'mountpoint')
    try {
      assert.deepEqual(lowerLayers(overlayOn(mountpoint).superOptions), [real])
      assert.equal(fs.readFileSync(path.join(mountpoint, 'real.txt'), 'utf8'), 'real\n')
    } finally {
      assert.equal((await dot({}, 'unmount', 'linked')).code, 0)
    }
  })

  test('with snapshots: one lowerdir+= per layer, newest snapshot first, the base last', async () => {
    const base = tmp.base('snapped', {'f.txt': 'base\n'})
    await store.create('snapped', {base})
    for (const tag of ['s1', 's2']) {
      const mp = await store.mount('snapped', 'manual')
      fs.writeFileSync(path.join(mp, 'f.txt'), `${tag}\n`)
      await store.unmount('snapped', 'manual')
      await cliSnapshot(tmp.root, 'snapped', tag)
    }
    const layers = lowerLayerDirs(store.layout, 'snapped')
    assert.equal(layers.length, 2)
    const mountpoint = await store.mount('snapped', 'manual')
    try {
      const lowers = lowerLayers(overlayOn(mountpoint).superOptions)
      assert.deepEqual(lowers, [...layers, base])
      assert.equal(fs.readFileSync(path.join(lowers[0], 'f.txt'), 'utf8'), 's2\n', 'the newest snapshot is the topmost lower layer')
      assert.equal(fs.readFileSync(path.join(mountpoint, 'f.txt'), 'utf8'), 's2\n')
    } finally {
      await store.unmount('snapped', 'manual')
    }
  })

  test('mount(2) forced (fsMountApi: false): the base as /proc/<pid>/fd/<n>, the view the same', async () => {
    const legacy = await VolumeStore.open({root: tmp.root, mounter: new SyscallMounter({fsMountApi: false})})
    try {
      const base = tmp.base('legacy', {'f.txt': 'base\n'})
      await legacy.create('legacy', {base})
      const mountpoint = await legacy.mount('legacy', 'manual')
      try {
        const {superOptions} = overlayOn(mountpoint)
        assert.ok(!usesLowerdirAppend(superOptions), superOptions)
        assert.match(lowerLayers(superOptions).join(':'), new RegExp(`^/proc/${process.pid}/fd/\\d+$`))
        assert.equal(fs.readFileSync(path.join(mountpoint, 'f.txt'), 'utf8'), 'base\n')
      } finally {
        await legacy.unmount('legacy', 'manual')
      }
    } finally {
      await legacy.close()
    }
  })

  test('DOT_MOUNT_API=legacy: the CLI mounts with mount(2), the base as its own /proc fd path', async () => {
    const base = tmp.base('env', {'f.txt': 'base\n'})
    assert.equal((await dot({}, 'create', 'env', '--base', base)).code, 0)
    const result = await dot({DOT_MOUNT_API: 'legacy'}, 'mount', 'env')
    assert.equal(result.code, 0, result.stderr)
    const mountpoint = path.join(tmp.root, 'env', 'mountpoint')
    try {
      assert.match(lowerLayers(overlayOn(mountpoint).superOptions).join(':'), /^\/proc\/\d+\/fd\/\d+$/)
      assert.equal(fs.readFileSync(path.join(mountpoint, 'f.txt'), 'utf8'), 'base\n')
    } finally {
      assert.equal((await dot({}, 'unmount', 'env')).code, 0)
    }
  })
})
