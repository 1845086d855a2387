import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {overlayMount, readOnlyOverlayMount} from '../../src/core/kernel/overlay-options.js'
import {overlayMountedOn} from '../../src/core/kernel/overlays.js'
import {ExecMounter} from '../../src/core/kernel/exec-mounter.js'
import {SyscallMounter} from '../../src/core/kernel/syscall-mounter.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'

/** The in-process mount path on real overlays (the new mount API, mount(2), umount2(2)): errno names reach the callers that branch on them. */
describe('SyscallMounter', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-syscall-mounter-')
  let paths: {base: string; upper: string; workdir: string; mountpoint: string}

  before(() => {
    assertRoot()
    const dir = path.join(tmp.dir, 'vol')
    paths = {base: tmp.base('b', {'f.txt': 'base\n'}), upper: `${dir}/upper`, workdir: `${dir}/work`, mountpoint: `${dir}/mountpoint`}
    for (const d of [paths.upper, paths.workdir, paths.mountpoint]) fs.mkdirSync(d, {recursive: true})
  })
  after(() => tmp.cleanup())

  test('mounts and unmounts an overlay', async () => {
    const mounter = new SyscallMounter()
    await mounter.mount(overlayMount('v', paths))
    assert.equal(overlayMountedOn(paths.mountpoint), true)
    assert.equal(fs.readFileSync(path.join(paths.mountpoint, 'f.txt'), 'utf8'), 'base\n')
    await mounter.unmount(paths.mountpoint)
    assert.equal(overlayMountedOn(paths.mountpoint), false)
  })

  test('failures carry the errno name: ENOENT for a missing target, EINVAL to unmount a plain directory, EBUSY while in use', async () => {
    const mounter = new SyscallMounter()
    const nowhere = path.join(tmp.dir, 'nowhere')
    // A volume's overlay is attached by move_mount(2), a read-only one (no layers) by mount(2).
    await assert.rejects(mounter.mount(overlayMount('v', {...paths, mountpoint: nowhere})), {code: 'ENOENT', syscall: 'move_mount', message: `move_mount ${nowhere}: ENOENT`})
    await assert.rejects(mounter.mount(readOnlyOverlayMount('v', [paths.base], nowhere)), {
      code: 'ENOENT',
      syscall: 'mount',
      message: `mount ${nowhere}: ENOENT (see dmesg for the kernel's reason)`,
    })
    await assert.rejects(mounter.unmount(paths.mountpoint), {code: 'EINVAL', syscall: 'umount2'})

    await mounter.mount(overlayMount('v', paths))
    const fd = fs.openSync(path.join(paths.mountpoint, 'f.txt'), 'r')
    try {
      await assert.rejects(mounter.unmount(paths.mountpoint), {code: 'EBUSY'})
      assert.equal(overlayMountedOn(paths.mountpoint), true, 'a refused unmount leaves the overlay')
      await mounter.unmount(paths.mountpoint, {detach: true})
      assert.equal(overlayMountedOn(paths.mountpoint), false, 'a detached overlay leaves the tree at once')
    } finally {
      fs.closeSync(fd)
    }
  })

  test('a mount that failed slowly is not repeated on the event loop to learn its errno', async () => {
    // A threshold of 0 ms makes every failure "slow": the error says so instead of repeating the mount.
    const legacy = new SyscallMounter({errnoProbeMaxMs: 0, fsMountApi: false})
    await assert.rejects(legacy.mount(overlayMount('v', {...paths, mountpoint: path.join(tmp.dir, 'nowhere')})), (err: Error & {code?: string}) => {
      assert.equal(err.code, 'EUNKNOWN')
      assert.match(err.message, /^mount .*nowhere: EUNKNOWN \(failed after \d+ ms; the error number is lost in the worker thread\)$/)
      return true
    })
    // Through an fs context the slow part is the superblock's creation: a workdir inside the upper layer fails there.
    const inside = {...paths, workdir: path.join(paths.upper, 'work')}
    fs.mkdirSync(inside.workdir, {recursive: true})
    try {
      await assert.rejects(new SyscallMounter({errnoProbeMaxMs: 0}).mount(overlayMount('v', inside)), (err: Error & {code?: string; syscall?: string}) => {
        assert.equal(err.code, 'EUNKNOWN')
        assert.equal(err.syscall, 'fsconfig')
        assert.match(err.message, /failed after \d+ ms; the error number is lost in the worker thread\)$/)
        return true
      })
      await assert.rejects(new SyscallMounter().mount(overlayMount('v', inside)), {code: 'EINVAL', syscall: 'fsconfig', message: /: EINVAL \(create: see dmesg/})
    } finally {
      fs.rmSync(inside.workdir, {recursive: true})
    }
    assert.equal(overlayMountedOn(paths.mountpoint), false)
  })

  test("a refused parameter carries the kernel's own message from the fs context's log", async () => {
    const file = path.join(tmp.dir, 'a-file')
    fs.writeFileSync(file, '')
    await assert.rejects(new SyscallMounter().mount(overlayMount('v', {...paths, upper: file})), (err: Error & {code?: string; syscall?: string}) => {
      assert.equal(err.syscall, 'fsconfig')
      assert.equal(err.code, 'EINVAL')
      assert.match(err.message, new RegExp(`^fsconfig ${paths.mountpoint}: EINVAL \\(upperdir ${file}: overlay: .*not a directory`))
      assert.doesNotMatch(err.message, /dmesg/)
      return true
    })
    assert.equal(overlayMountedOn(paths.mountpoint), false)
  })

  test('the mount(8) fallback: errno names mapped from its messages, each failure one line', async () => {
    const mounter = new ExecMounter()
    const oneLine = (code: string) => (err: Error & {code?: string}) => {
      assert.equal(err.code, code)
      assert.doesNotMatch(err.message, /\n/)
      return true
    }
    await assert.rejects(mounter.mount(overlayMount('v', {...paths, base: path.join(tmp.dir, 'no-base')})), oneLine('ENOENT'))
    await assert.rejects(mounter.unmount(paths.mountpoint), oneLine('EINVAL'))
    await mounter.mount(overlayMount('v', paths))
    assert.equal(overlayMountedOn(paths.mountpoint), true)
    await mounter.unmount(paths.mountpoint)
    assert.equal(overlayMountedOn(paths.mountpoint), false)
  })
})
