import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import {overlayMount} from '../../src/core/overlay-options.js'
import {SyscallMounter} from '../../src/core/system/syscall-mounter.js'
import type {Bench} from '../context.js'
import {Scratch} from '../fixtures.js'

type SyncFn = (...args: unknown[]) => number

/**
 * The kernel's share: mount(2) and umount2(2) of the same overlay a volume gets (same option string,
 * same directory shapes), called through the koffi binding the store uses. Measured twice: the bare
 * synchronous call (the floor), and through SyscallMounter, which hops to koffi's worker thread so a
 * slow mount cannot stall the event loop (what the plugin pays).
 */
export async function floors(bench: Bench): Promise<void> {
  const n = bench.n(200, 50)
  const scratch = new Scratch('floors')
  try {
    const dir = scratch.path('vol')
    const paths = {base: scratch.base, upper: path.join(dir, 'upper'), workdir: path.join(dir, 'workdir'), mountpoint: path.join(dir, 'mountpoint')}
    for (const p of [paths.upper, paths.workdir, paths.mountpoint]) fs.mkdirSync(p, {recursive: true})
    const spec = overlayMount('dot-bench-floor', paths)

    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi')
    const libc = koffi.load('libc.so.6')
    const mount = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)') as unknown as SyncFn
    const umount2 = libc.func('int umount2(const char *target, int flags)') as unknown as SyncFn
    const mountSync: number[] = []
    const umountSync: number[] = []
    for (let i = 0; i < n; i++) {
      let t = performance.now()
      if (mount(spec.source, spec.target, spec.fstype, 0, spec.data) !== 0) throw new Error(`mount(2) failed: errno ${koffi.errno()}`)
      mountSync.push(performance.now() - t)
      t = performance.now()
      if (umount2(spec.target, 0) !== 0) throw new Error(`umount2(2) failed: errno ${koffi.errno()}`)
      umountSync.push(performance.now() - t)
    }
    bench.add('floor.mount2', 'mount(2) of an overlay (koffi, synchronous)', mountSync)
    bench.add('floor.umount2', 'umount2(2) of it (koffi, synchronous)', umountSync)
    inodeFloors(bench, n, scratch.path('trees'), (paths) => {
      const fresh = overlayMount('dot-bench-floor', {base: scratch.base, ...paths})
      if (mount(fresh.source, fresh.target, fresh.fstype, 0, fresh.data) !== 0) throw new Error(`mount(2) failed: errno ${koffi.errno()}`)
    }, (target) => {
      if (umount2(target, 0) !== 0) throw new Error(`umount2(2) failed: errno ${koffi.errno()}`)
    })

    const mounter = new SyscallMounter()
    const mountAsync: number[] = []
    const umountAsync: number[] = []
    for (let i = 0; i < n; i++) {
      let t = performance.now()
      await mounter.mount(spec)
      mountAsync.push(performance.now() - t)
      t = performance.now()
      await mounter.unmount(spec.target)
      umountAsync.push(performance.now() - t)
    }
    bench.add('floor.mount2-async', 'mount(2) via SyscallMounter (koffi worker thread)', mountAsync)
    bench.add('floor.umount2-async', 'umount2(2) via SyscallMounter', umountAsync)
  } finally {
    scratch.cleanup()
  }
}

/**
 * The inodes a volume's operations make and drop, made with bare synchronous calls (no lock, no
 * checks, no reads) in trees shaped like volumes: the directories and files a Create makes (three
 * directories, metadata.json, the rename into place), what a first Mount makes (workdir/, mountpoint/,
 * a record), the mount(2) of an overlay on that fresh tree (overlayfs makes work/ inside: one more
 * inode), a second record, and its unlink. A new inode costs anything from ~0.03 to ~0.8 ms on these
 * VMs within minutes (an inode table block read from the virtual disk when it is not cached), so these
 * floors are measured in every run, next to the rows that pay them.
 */
function inodeFloors(
  bench: Bench,
  n: number,
  dir: string,
  mount: (paths: {upper: string; workdir: string; mountpoint: string}) => void,
  unmount: (target: string) => void,
): void {
  fs.mkdirSync(dir)
  const times = {tree: [] as number[], mountDirs: [] as number[], freshMount: [] as number[], record: [] as number[], unlink: [] as number[]}
  const time = (into: number[], work: () => void) => {
    const t = performance.now()
    work()
    into.push(performance.now() - t)
  }
  const volume = (i: number) => path.join(dir, `v${i}`)
  for (let i = 0; i < n; i++) {
    const tmp = path.join(dir, `.tmp-v${i}`)
    time(times.tree, () => {
      fs.mkdirSync(tmp)
      fs.mkdirSync(path.join(tmp, 'upper'))
      fs.mkdirSync(path.join(tmp, 'activemounts'))
      fs.writeFileSync(path.join(tmp, 'metadata.json'), '{"BaseDirPath":"/srv/base","Volatile":false,"CreatedAt":"2026-01-01T00:00:00.000Z"}\n', {flag: 'wx'})
      fs.renameSync(tmp, volume(i))
    })
  }
  for (let i = 0; i < n; i++) {
    time(times.mountDirs, () => {
      fs.mkdirSync(path.join(volume(i), 'workdir'))
      fs.mkdirSync(path.join(volume(i), 'mountpoint'))
      fs.writeFileSync(path.join(volume(i), 'activemounts', 'a'), '{"UsageCount":1}\n', {flag: 'wx'})
    })
    const paths = {upper: path.join(volume(i), 'upper'), workdir: path.join(volume(i), 'workdir'), mountpoint: path.join(volume(i), 'mountpoint')}
    time(times.freshMount, () => mount(paths))
    unmount(paths.mountpoint)
  }
  for (let i = 0; i < n; i++) time(times.record, () => fs.writeFileSync(path.join(volume(i), 'activemounts', 'b'), '{"UsageCount":1}\n', {flag: 'wx'}))
  for (let i = 0; i < n; i++) time(times.unlink, () => fs.unlinkSync(path.join(volume(i), 'activemounts', 'b')))
  bench.add('floor.create-tree', "a volume's tree: 3 mkdir + metadata.json + rename (bare)", times.tree)
  bench.add('floor.mount-dirs', "a first mount's inodes: workdir/, mountpoint/, a record (bare)", times.mountDirs)
  bench.add('floor.mount2-fresh', 'mount(2) of an overlay on that fresh tree (koffi, synchronous)', times.freshMount)
  bench.add('floor.record', 'a second record file (bare)', times.record)
  bench.add('floor.record-unlink', 'unlink of a record (bare)', times.unlink)
}
