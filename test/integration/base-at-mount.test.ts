import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import type {OverlayMount} from '../../src/core/kernel/overlay-options.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {SyscallMounter} from '../../src/core/kernel/syscall-mounter.js'
import type {Mounter} from '../../src/core/kernel/mounter.js'
import {lowerLayers} from '../helpers/lower-layers.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs, isOneLine} from './cli-fixtures.js'
import {overlayCount} from './store-fixtures.js'

/**
 * Issue 10, item 3: the base is checked at every first mount, not only at create. A base path that
 * became a symlink to what create refuses (another volume's upper layer, the root, /) is refused with
 * a clear error and nothing mounted; a base reached through a symlink is mounted as its resolved path.
 */
describe('the base is resolved and checked at every first mount', rootOnly(), () => {
  let tmp: TempRoot
  const dot = (...command: string[]) => runDot(dotArgs(tmp.root, command))

  before(() => {
    assertRoot()
    tmp = new TempRoot('dot-test-base-at-mount-')
  })
  after(() => tmp?.cleanup())

  const created = async (name: string, base: string, volatile = false) => {
    const result = await dot('create', name, '--base', base, ...(volatile ? ['--volatile'] : []))
    assert.equal(result.code, 0, result.stderr)
  }

  for (const [label, volatile] of [
    ['a volume', false],
    ['a volatile volume', true],
  ] as const) {
    for (const target of ['another volume\'s upper layer', 'the root', '/'] as const) {
      test(`${label}: a base that became a symlink to ${target} is refused at mount, nothing mounted`, async () => {
        const tag = `${volatile ? 'v' : 'n'}${target === '/' ? 'slash' : target === 'the root' ? 'root' : 'upper'}`
        const other = tmp.base(`other-${tag}`, {'other.txt': 'other\n'})
        await created(`other-${tag}`, other)
        const base = tmp.base(`base-${tag}`, {'mine.txt': 'mine\n'})
        await created(`vol-${tag}`, base, volatile)
        // Changes a volatile volume must keep when its mount is refused (they are wiped only by a mount that succeeds).
        fs.writeFileSync(path.join(tmp.root, `vol-${tag}`, 'upper', 'change.txt'), 'change\n')
        fs.rmSync(base, {recursive: true})
        const pointsAt = target === '/' ? '/' : target === 'the root' ? tmp.root : path.join(tmp.root, `other-${tag}`, 'upper')
        fs.symlinkSync(pointsAt, base)

        const result = await dot('mount', `vol-${tag}`)
        assert.equal(result.code, 2, `mount of a base now pointing at ${target} must be refused as invalid: ${result.stdout}${result.stderr}`)
        assert.ok(isOneLine(result.stderr), result.stderr)
        assert.match(result.stderr, /cannot mount volume/)
        assert.match(result.stderr, target === '/' ? /contains the docker-on-top root/ : /inside the docker-on-top root|contains the docker-on-top root/)
        assert.equal(overlayCount(path.join(tmp.root, `vol-${tag}`, 'mountpoint')), 0, 'nothing mounted')
        assert.deepEqual(fs.readdirSync(path.join(tmp.root, `vol-${tag}`, 'activemounts')), [], 'no mount record')
        assert.equal(fs.readFileSync(path.join(tmp.root, `vol-${tag}`, 'upper', 'change.txt'), 'utf8'), 'change\n', 'the changes are kept')
      })
    }
  }

  test('a base reached through a symlink is mounted as its resolved path', async () => {
    const real = tmp.base('real', {'real.txt': 'real\n'})
    const link = path.join(tmp.dir, 'bases', 'link')
    fs.symlinkSync(real, link)
    await created('through-link', link)
    const result = await dot('mount', 'through-link')
    assert.equal(result.code, 0, result.stderr)
    const mountpoint = path.join(tmp.root, 'through-link', 'mountpoint')
    try {
      assert.equal(fs.readFileSync(path.join(mountpoint, 'real.txt'), 'utf8'), 'real\n')
      const [entry] = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.mountpoint === mountpoint)
      assert.ok(entry, 'the overlay is mounted')
      assert.deepEqual(lowerLayers(entry.superOptions), [real], `the symlink itself is not what was mounted: ${JSON.stringify(entry)}`)
    } finally {
      assert.equal((await dot('unmount', 'through-link')).code, 0)
    }
  })

  for (const [how, real] of [
    ['the new mount API', () => new SyscallMounter()],
    ['mount(2)', () => new SyscallMounter({fsMountApi: false})],
  ] as const) {
    test(`a base swapped for a symlink to / between the check and the mount (${how}): the mount still shows the base that was checked`, async () => {
      const tag = how === 'mount(2)' ? 'mount2' : 'fsapi'
      const base = tmp.base(`swapped-${tag}`, {'checked.txt': 'the checked base\n'})
      const mounter = real()
      // The real kernel mount, with the base path swapped for a link to / just before it is made.
      const swapping: Mounter = {
        async mount(m: OverlayMount) {
          fs.renameSync(base, `${base}.moved`)
          fs.symlinkSync('/', base)
          return mounter.mount(m)
        },
        unmount: (target, options) => mounter.unmount(target, options),
      }
      const store = await VolumeStore.open({root: tmp.root, mounter: swapping})
      try {
        await store.create(`swapped-${tag}`, {base})
        const mountpoint = await store.mount(`swapped-${tag}`, 'manual')
        assert.deepEqual(fs.readdirSync(mountpoint), ['checked.txt'], 'the view is the directory that was checked, not /')
        const [entry] = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.mountpoint === mountpoint)
        // The kernel names the directory by where it is now; never the link that replaced it.
        if (how === 'the new mount API') assert.deepEqual(lowerLayers(entry.superOptions), [`${base}.moved`])
        else assert.match(lowerLayers(entry.superOptions)[0], /^\/proc\/\d+\/fd\/\d+$/)
        await store.unmount(`swapped-${tag}`, 'manual')
      } finally {
        await store.close()
      }
    })
  }
})
