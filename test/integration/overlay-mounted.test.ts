import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {countOverlays, overlayMountedGiven, overlayMountedOn} from '../../src/core/kernel/overlays.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'

/** overlayMountedGiven from lstats of the path and its parent: what Get uses, which must agree. */
const given = (p: string) =>
  overlayMountedGiven(p, fs.lstatSync(p, {throwIfNoEntry: false}), fs.lstatSync(path.dirname(p), {throwIfNoEntry: false}))

const inMountinfo = (mountpoint: string) => countOverlays(parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))).has(mountpoint)

/** overlayMountedOn (stat + statfs) against what /proc/self/mountinfo says, on real mounts. */
describe('overlayMountedOn', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-overlay-mounted-')
  let dir: string
  before(() => {
    assertRoot()
    dir = path.join(tmp.dir, 'v')
    for (const d of ['upper', 'work', 'mountpoint', 'plain']) fs.mkdirSync(path.join(dir, d), {recursive: true})
  })
  after(() => tmp.cleanup())

  test('a missing path, a path under a file and a plain directory are not mounted', () => {
    fs.writeFileSync(path.join(dir, 'file'), '')
    assert.equal(overlayMountedOn(path.join(dir, 'missing')), false)
    assert.equal(overlayMountedOn(path.join(dir, 'file', 'mountpoint')), false)
    assert.equal(overlayMountedOn(path.join(dir, 'plain')), false)
    assert.equal(given(path.join(dir, 'missing')), false)
    assert.equal(given(path.join(dir, 'plain')), false)
  })

  test('another file system mounted there is not an overlay', () => {
    const mountpoint = path.join(dir, 'plain')
    execFileSync('mount', ['-t', 'tmpfs', 'dot-test', mountpoint])
    try {
      assert.equal(overlayMountedOn(mountpoint), false)
      assert.equal(given(mountpoint), false)
    } finally {
      execFileSync('umount', [mountpoint])
    }
  })

  test('an overlay is seen while mounted and not after, as in mountinfo', () => {
    const mountpoint = path.join(dir, 'mountpoint')
    const base = tmp.base('b', {'f.txt': 'f'})
    execFileSync('mount', ['-t', 'overlay', 'dot-test', '-o', `lowerdir=${base},upperdir=${dir}/upper,workdir=${dir}/work`, mountpoint])
    assert.equal(overlayMountedOn(mountpoint), true)
    assert.equal(given(mountpoint), true)
    assert.equal(inMountinfo(mountpoint), true)
    execFileSync('umount', [mountpoint])
    assert.equal(overlayMountedOn(mountpoint), false)
    assert.equal(given(mountpoint), false)
    assert.equal(inMountinfo(mountpoint), false)
  })

  test('a failure other than a missing path is an error, never "not mounted"', () => {
    const loop = path.join(dir, 'loop')
    fs.symlinkSync(loop, loop)
    assert.throws(() => overlayMountedOn(loop), {code: 'internal', message: /checking whether an overlay is mounted on .*loop: .*ELOOP/})
  })
})
