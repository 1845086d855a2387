import fs from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'

import {overlayMount} from '../src/core/kernel/overlay-options.js'

type SyncFn = (...args: unknown[]) => number

const RECORD = '{"UsageCount":1}\n'
const METADATA = '{"BaseDirPath":"/srv/base","Volatile":false,"CreatedAt":"2026-01-01T00:00:00.000Z"}\n'

/**
 * Volumes made and mounted with nothing but the syscalls each operation needs, synchronously: no lock,
 * no checks, no reads, no HTTP. What the store's operations cannot go below, measured call by call
 * beside them (creating an inode costs ~0.03 ms at one moment and ~1 ms a few seconds later on these
 * VMs, when the inode table block must be read from the virtual disk; page cache is reclaimed early
 * here). Each method returns how long it took, in ms.
 */
export class BareVolumes {
  private readonly koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi')
  private readonly mountFn: SyncFn
  private readonly umount2Fn: SyncFn

  constructor(
    private readonly dir: string,
    private readonly base: string,
  ) {
    fs.mkdirSync(dir)
    const libc = this.koffi.load('libc.so.6')
    this.mountFn = libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)') as unknown as SyncFn
    this.umount2Fn = libc.func('int umount2(const char *target, int flags)') as unknown as SyncFn
  }

  /** A Create's inodes: three directories and metadata.json under a scratch name, renamed into place. */
  create(i: number): number {
    const tmp = path.join(this.dir, `.tmp-v${i}`)
    return timed(() => {
      fs.mkdirSync(tmp)
      fs.mkdirSync(path.join(tmp, 'upper'))
      fs.mkdirSync(path.join(tmp, 'activemounts'))
      fs.writeFileSync(path.join(tmp, 'metadata.json'), METADATA, {flag: 'wx'})
      fs.renameSync(tmp, this.volume(i))
    })
  }

  /** A first mount: workdir/ and mountpoint/, mount(2) on them (overlayfs makes work/ inside), a record. */
  mountFirst(i: number): number {
    const v = this.volume(i)
    const spec = overlayMount('dot-bench-bare', {base: this.base, upper: path.join(v, 'upper'), workdir: path.join(v, 'workdir'), mountpoint: path.join(v, 'mountpoint')})
    return timed(() => {
      fs.mkdirSync(path.join(v, 'workdir'))
      fs.mkdirSync(spec.target)
      if (this.mountFn(spec.source, spec.target, spec.fstype, 0, spec.data) !== 0) throw new Error(`mount(2) failed: errno ${this.koffi.errno()}`)
      fs.writeFileSync(path.join(v, 'activemounts', 'a'), RECORD, {flag: 'wx'})
    })
  }

  /** A second mount of a mounted volume: one more record. */
  mountSecond(i: number): number {
    return timed(() => fs.writeFileSync(path.join(this.volume(i), 'activemounts', 'b'), RECORD, {flag: 'wx'}))
  }

  /** An unmount that is not the last: the record goes. */
  unmountNonLast(i: number): number {
    return timed(() => fs.unlinkSync(path.join(this.volume(i), 'activemounts', 'b')))
  }

  /** The last unmount: the record goes, then umount2(2). */
  unmountLast(i: number): number {
    const v = this.volume(i)
    return timed(() => {
      fs.unlinkSync(path.join(v, 'activemounts', 'a'))
      if (this.umount2Fn(path.join(v, 'mountpoint'), 0) !== 0) throw new Error(`umount2(2) failed: errno ${this.koffi.errno()}`)
    })
  }

  private volume(i: number): string {
    return path.join(this.dir, `v${i}`)
  }
}

function timed(work: () => void): number {
  const t = performance.now()
  work()
  return performance.now() - t
}
