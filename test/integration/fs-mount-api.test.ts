import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {type FsMountApi, fsMountApi} from '../../src/core/kernel/fs-mount-api.js'
import {parseMountinfo, unescapeMountinfo} from '../../src/core/kernel/mountinfo.js'
import {overlayMount} from '../../src/core/kernel/overlay-options.js'
import {overlayMountedOn} from '../../src/core/kernel/overlays.js'
import {SyscallMounter} from '../../src/core/kernel/syscall-mounter.js'
import {lowerLayers, usesLowerdirAppend} from '../helpers/lower-layers.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'

/** The overlay's super options on `mountpoint`, from the mount table. */
function superOptions(mountpoint: string): string {
  const entries = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.fstype === 'overlay' && e.mountpoint === mountpoint)
  assert.equal(entries.length, 1, `one overlay on ${mountpoint}`)
  return entries[0].superOptions
}

/** The real API with some calls replaced, and its own memory of a refusal (the real one is the process's). */
function patched(calls: Partial<FsMountApi>): FsMountApi & {fsopens: number} {
  const real = fsMountApi()
  const api = {...real, unavailable: undefined, fsopens: 0, ...calls}
  const fsopen = api.fsopen
  api.fsopen = (fstype: string) => {
    api.fsopens++
    return fsopen(fstype)
  }
  return api
}

/** The new mount API (fsopen, fsconfig, fsmount, move_mount) on real overlays, and its fallback to mount(2). */
describe('overlays through the new mount API', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-fs-mount-api-')
  let n = 0
  /** Fresh upper, work and mountpoint directories over a base with one file, and two layers over it. */
  const fresh = () => {
    const dir = path.join(tmp.dir, `vol-${n++}`)
    const p = {base: tmp.base(`b${n}`, {'f.txt': 'base\n'}), upper: `${dir}/up,per`, workdir: `${dir}/work`, mountpoint: `${dir}/mountpoint`}
    const layers = [`${dir}/layers/l:2`, `${dir}/layers/l-1`]
    for (const d of [p.upper, p.workdir, p.mountpoint, ...layers]) fs.mkdirSync(d, {recursive: true})
    fs.writeFileSync(path.join(layers[0], 'top.txt'), 'newest layer\n')
    return {paths: p, layers}
  }

  before(() => assertRoot())
  after(() => tmp.cleanup())

  test('the mount table names every lower layer by its path, topmost first, the base last; the rest is what mount(2) gives', async () => {
    const mounter = new SyscallMounter()
    const a = fresh()
    const b = fresh()
    await mounter.mount(overlayMount('v', {...a.paths, layers: a.layers}))
    await new SyscallMounter({fsMountApi: false}).mount(overlayMount('v', {...b.paths, layers: b.layers}))
    try {
      const options = superOptions(a.paths.mountpoint)
      assert.ok(usesLowerdirAppend(options), options)
      assert.deepEqual(lowerLayers(options), [...a.layers, a.paths.base])
      assert.equal(fs.readFileSync(path.join(a.paths.mountpoint, 'top.txt'), 'utf8'), 'newest layer\n')
      assert.equal(fs.readFileSync(path.join(a.paths.mountpoint, 'f.txt'), 'utf8'), 'base\n')
      // Apart from how the lowers are listed, both overlays have the same options.
      // mount(2)'s are its strings as given, "," escaped for overlayfs; the new API's, the kernel's paths.
      const rest = (o: string, dir: string) => unescapeMountinfo(o.split(',').filter((x) => !x.startsWith('lowerdir')).join(',')).replace(/\\(.)/g, '$1').replaceAll(dir, 'DIR')
      const legacy = superOptions(b.paths.mountpoint)
      assert.ok(!usesLowerdirAppend(legacy), legacy)
      assert.deepEqual(lowerLayers(legacy), [...b.layers, b.paths.base])
      assert.equal(rest(options, path.dirname(a.paths.upper)), rest(legacy, path.dirname(b.paths.upper)))
    } finally {
      await mounter.unmount(a.paths.mountpoint)
      await mounter.unmount(b.paths.mountpoint)
    }
  })

  test('no fsopen (ENOSYS): the overlay is mounted by mount(2), and the API is not tried again in this process', async () => {
    const api = patched({fsopen: () => -1, errno: () => 'ENOSYS'})
    const mounter = new SyscallMounter({fsMountApi: api})
    for (let round = 0; round < 2; round++) {
      const {paths} = fresh()
      await mounter.mount(overlayMount('v', paths))
      try {
        assert.deepEqual(lowerLayers(superOptions(paths.mountpoint)), [paths.base])
        assert.ok(!usesLowerdirAppend(superOptions(paths.mountpoint)), 'the option string of mount(2)')
        assert.equal(fs.readFileSync(path.join(paths.mountpoint, 'f.txt'), 'utf8'), 'base\n')
      } finally {
        await mounter.unmount(paths.mountpoint)
      }
    }
    assert.equal(api.fsopens, 1, 'the refusal is remembered')
    assert.equal(api.unavailable, 'fsopen: ENOSYS')
  })

  test('a kernel that does not know lowerdir+ (before 6.8: "Unknown parameter"): mount(2), remembered', async () => {
    // The real kernel's answer to a key it does not know, under the key this kernel does know.
    const real = fsMountApi()
    const api = patched({setFd: (fsfd, _key, fd) => real.setFd(fsfd, 'lowerdir-unknown', fd)})
    const mounter = new SyscallMounter({fsMountApi: api})
    const {paths} = fresh()
    await mounter.mount(overlayMount('v', paths))
    try {
      assert.ok(!usesLowerdirAppend(superOptions(paths.mountpoint)))
      assert.equal(fs.readFileSync(path.join(paths.mountpoint, 'f.txt'), 'utf8'), 'base\n')
    } finally {
      await mounter.unmount(paths.mountpoint)
    }
    assert.match(api.unavailable ?? '', /^fsconfig lowerdir\+ .*: EINVAL \(overlay: Unknown parameter 'lowerdir-unknown'\)$/)
  })

  test('a kernel that takes lowerdir+ only as a string (6.8 to 6.12: "Bad value"): mount(2)', async () => {
    const real = fsMountApi()
    const api = patched({setFd: (fsfd, _key, fd) => real.setFd(fsfd, 'redirect_dir', fd)})
    const {paths} = fresh()
    await new SyscallMounter({fsMountApi: api}).mount(overlayMount('v', paths))
    assert.ok(overlayMountedOn(paths.mountpoint))
    await new SyscallMounter().unmount(paths.mountpoint)
    assert.match(api.unavailable ?? '', /Bad value for 'redirect_dir'/)
  })

  test("a refusal of this overlay is the overlay's error, not a reason to give up the API", async () => {
    const api = patched({})
    const {paths} = fresh()
    const mounter = new SyscallMounter({fsMountApi: api})
    await assert.rejects(mounter.mount(overlayMount('v', {...paths, layers: [path.join(tmp.dir, 'no-layer')]})), {syscall: 'open', code: 'ENOENT'})
    await assert.rejects(mounter.mount(overlayMount('v', {...paths, upper: path.join(tmp.dir, 'no-upper')})), {syscall: 'fsconfig', code: 'ENOENT'})
    assert.equal(api.unavailable, undefined)
    await mounter.mount(overlayMount('v', paths))
    assert.ok(usesLowerdirAppend(superOptions(paths.mountpoint)))
    await mounter.unmount(paths.mountpoint)
    assert.equal(api.fsopens, 2, 'the missing layer is refused before an fs context is opened')
  })

  test('a lower layer given by path is never opened through a symlink', async () => {
    const {paths} = fresh()
    const link = path.join(tmp.dir, 'layer-link')
    fs.symlinkSync('/', link)
    // O_NOFOLLOW with O_DIRECTORY: ENOTDIR for a link to a directory.
    await assert.rejects(new SyscallMounter().mount(overlayMount('v', {...paths, layers: [link]})), {syscall: 'open', code: /^(ENOTDIR|ELOOP)$/})
    assert.equal(overlayMountedOn(paths.mountpoint), false)
  })
})
