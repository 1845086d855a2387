import {performance} from 'node:perf_hooks'

import type {OverlayMount} from './overlay-options.js'
import {FsMountApiUnsupported, mountThroughFsContext} from './fs-context-mount.js'
import {type FsMountApi, fsMountApi} from './fs-mount-api.js'
import {type Libc, libc} from './libc.js'
import {MountSyscallError, type Mounter} from './mounter.js'

const MNT_DETACH = 2

type AsyncFn = {async: (...args: unknown[]) => void} & ((...args: unknown[]) => number)

/**
 * mount(2)/umount2(2) called in process through koffi, an order of magnitude faster than spawning
 * mount(8). koffi ships prebuilt binaries in its npm package, so installing needs no compiler.
 *
 * Calls go through koffi's `.async` (a worker thread): a mount can wait (a hung NFS base, a busy
 * superblock) and must not stall the event loop that answers dockerd. koffi does not carry errno
 * back from its worker thread, so on failure the call is repeated synchronously once, only to learn
 * errno (a retry that now succeeds is a success). For mount(2) only when the first failure was quick:
 * an overlay mount that took long to fail (lookups in a slow or hung base) would block the event loop
 * as long again, and every Get and List with it. umount2(2) fails before doing any I/O (EBUSY, EINVAL),
 * and its callers need the errno to choose between retrying, detaching and giving up.
 *
 * A volume's overlay (one that carries `layers`) goes through the new mount API instead
 * (fs-context-mount.ts), so that the mount table names its real base. Where the kernel or libc lacks
 * it, the first refusal is remembered for the process (on the API's binding) and every later overlay
 * takes mount(2) straight away. `DOT_MOUNT_API=legacy` (or `fsMountApi: false`) always takes mount(2).
 */
export class SyscallMounter implements Mounter {
  private readonly libc: Libc
  private readonly mountFn: AsyncFn
  private readonly umount2Fn: AsyncFn
  private readonly fsApi: FsMountApi | false

  /** A failed mount(2) slower than this is not repeated on the event loop to learn its errno. */
  private readonly errnoProbeMaxMs: number

  constructor(options: {errnoProbeMaxMs?: number; fsMountApi?: FsMountApi | false} = {}) {
    this.errnoProbeMaxMs = options.errnoProbeMaxMs ?? 50
    this.fsApi = options.fsMountApi ?? (process.env.DOT_MOUNT_API === 'legacy' ? false : fsMountApi())
    this.libc = libc()
    this.mountFn = this.libc.lib.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ) as unknown as AsyncFn
    this.umount2Fn = this.libc.lib.func('int umount2(const char *target, int flags)') as unknown as AsyncFn
  }

  async mount(m: OverlayMount): Promise<void> {
    const api = this.fsApi
    if (m.layers !== undefined && api && api.unavailable === undefined) {
      try {
        return await mountThroughFsContext(api, m, m.layers, this.errnoProbeMaxMs)
      } catch (err) {
        if (!(err instanceof FsMountApiUnsupported)) throw err
        api.unavailable = err.message
      }
    }
    await this.mount2(m)
  }

  /** mount(2) with the option string, where a base is `/proc/<pid>/fd/<n>`. */
  private async mount2(m: OverlayMount): Promise<void> {
    const args = [m.source, m.target, m.fstype, 0, m.data]
    const started = performance.now()
    if ((await this.callAsync(this.mountFn, args)) === 0) return
    const ms = performance.now() - started
    if (ms > this.errnoProbeMaxMs) {
      throw new MountSyscallError('mount', 'EUNKNOWN', m.target, `failed after ${Math.round(ms)} ms; the error number is lost in the worker thread`)
    }
    if (this.mountFn(...args) === 0) return
    // overlayfs says what it disliked (a layer it cannot use, an option) only in the kernel log.
    throw new MountSyscallError('mount', this.errnoName(), m.target, "see dmesg for the kernel's reason")
  }

  async unmount(target: string, options: {detach?: boolean} = {}): Promise<void> {
    const args = [target, options.detach ? MNT_DETACH : 0]
    if ((await this.callAsync(this.umount2Fn, args)) === 0) return
    if (this.umount2Fn(...args) === 0) return
    throw new MountSyscallError('umount2', this.errnoName(), target)
  }

  private callAsync(fn: AsyncFn, args: unknown[]): Promise<number> {
    return new Promise((resolve, reject) => {
      fn.async(...args, (err: unknown, result: number) => (err ? reject(err) : resolve(result)))
    })
  }

  private errnoName(): string {
    return this.libc.errnoName(this.libc.koffi.errno())
  }
}
