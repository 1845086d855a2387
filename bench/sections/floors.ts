import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import {overlayMount} from '../../src/core/kernel/overlay-options.js'
import {SyscallMounter} from '../../src/core/kernel/syscall-mounter.js'
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

