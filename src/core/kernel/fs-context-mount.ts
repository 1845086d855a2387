import {closeSync, constants, openSync} from 'node:fs'
import {performance} from 'node:perf_hooks'

import type {FsMountApi} from './fs-mount-api.js'
import {MountSyscallError} from './mounter.js'
import type {OverlayLayers, OverlayMount} from './overlay-options.js'

/** This kernel (or a seccomp filter) does not take an overlay through the new mount API: mount(2) must. */
export class FsMountApiUnsupported extends Error {}

/**
 * Refusals that mean "not this API" rather than "not this overlay": no such syscall (ENOSYS, also what
 * seccomp filters answer, some with EPERM, which mount(2) would answer too without CAP_SYS_ADMIN).
 */
const NO_API = new Set(['ENOSYS', 'EOPNOTSUPP', 'EPERM'])
/** A kernel before 6.8 does not know `lowerdir+`, one before 6.13 takes it only as a string. */
const NO_LOWER_FD = /Unknown parameter|Bad value/

/**
 * Mounts an overlay through an fs context: each lower layer is handed over as an open directory, the
 * same one the base was checked as (base-check.ts), and the mount table shows each by its real
 * path (`lowerdir+=/srv/data`), not as `/proc/<pid>/fd/<n>`. fsopen and the parameters are set on
 * the event loop (no I/O: the layers are open, upper and work are looked up in the root; only the
 * first fsopen after boot may wait for the overlay module to load); the superblock's creation
 * (lookups in every layer) runs on a koffi worker thread, the attach on the event loop (see attach). As
 * with mount(2) (syscall-mounter.ts), a creation that failed quickly is repeated synchronously, only
 * to learn its errno. Throws FsMountApiUnsupported before anything is created when the API is lacking.
 */
export async function mountThroughFsContext(api: FsMountApi, m: OverlayMount, layers: OverlayLayers, errnoProbeMaxMs: number): Promise<void> {
  const opened: number[] = []
  try {
    const lowerFds = layers.lowers.map((lower) => lower.fd ?? openLower(lower.path, m.target, opened))
    const started = performance.now()
    let fsfd = configure(api, m, layers, lowerFds)
    try {
      if ((await api.createAsync(fsfd)) !== 0) {
        const ms = performance.now() - started
        const log = api.log(fsfd)
        if (ms > errnoProbeMaxMs) {
          throw new MountSyscallError('fsconfig', 'EUNKNOWN', m.target, [...log, `failed after ${Math.round(ms)} ms; the error number is lost in the worker thread`].join('; '))
        }
        closeSync(fsfd)
        fsfd = -1 // a failed creation leaves its context unusable: a fresh one is configured
        fsfd = configure(api, m, layers, lowerFds)
        if (api.create(fsfd) !== 0) throw failure(api, fsfd, 'fsconfig', m.target, 'create')
      }
      const mfd = api.fsmount(fsfd)
      if (mfd < 0) throw failure(api, fsfd, 'fsmount', m.target)
      try {
        attach(api, mfd, m.target)
      } finally {
        closeSync(mfd) // an attached mount stays; one left detached (attach failed) goes with its last fd
      }
    } finally {
      if (fsfd >= 0) closeSync(fsfd)
    }
  } finally {
    for (const fd of opened) closeSync(fd)
  }
}

/** A lower layer given by path (a snapshot layer, the doctor's probe): opened as the base is, never through a final symlink. */
function openLower(p: string, target: string, opened: number[]): number {
  try {
    const fd = openSync(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW)
    opened.push(fd)
    return fd
  } catch (err) {
    throw new MountSyscallError('open', (err as NodeJS.ErrnoException).code ?? 'EIO', target, `lower layer ${p}`)
  }
}

/** A new fs context with every parameter set: the source, the lowers topmost first, upper and work. */
function configure(api: FsMountApi, m: OverlayMount, layers: OverlayLayers, lowerFds: number[]): number {
  const fsfd = api.fsopen(m.fstype)
  if (fsfd < 0) {
    const code = api.errno()
    if (NO_API.has(code)) throw new FsMountApiUnsupported(`fsopen: ${code}`)
    throw new MountSyscallError('fsopen', code, m.target)
  }
  try {
    const set = (key: string, value: string) => {
      if (api.setString(fsfd, key, value) !== 0) throw refusal(api, fsfd, m.target, `${key} ${value}`, false)
    }
    set('source', m.source)
    lowerFds.forEach((fd, i) => {
      if (api.setFd(fsfd, 'lowerdir+', fd) !== 0) throw refusal(api, fsfd, m.target, `lowerdir+ ${layers.lowers[i].path}`, true)
    })
    set('upperdir', layers.upper)
    set('workdir', layers.workdir)
    return fsfd
  } catch (err) {
    closeSync(fsfd)
    throw err
  }
}

/** A parameter refused: the API's absence (fall back), or the kernel's reason for this overlay. */
function refusal(api: FsMountApi, fsfd: number, target: string, what: string, lower: boolean): Error {
  const code = api.errno() // first: any later call may overwrite errno
  const log = api.log(fsfd)
  if (NO_API.has(code) || (lower && code === 'EINVAL' && (log.length === 0 || log.some((line) => NO_LOWER_FD.test(line))))) {
    return new FsMountApiUnsupported(`fsconfig ${what}: ${code}${log.length > 0 ? ` (${log.join('; ')})` : ''}`)
  }
  return new MountSyscallError('fsconfig', code, target, `${what}: ${reason(log)}`)
}

function failure(api: FsMountApi, fsfd: number, syscall: string, target: string, what?: string): MountSyscallError {
  const code = api.errno()
  const log = api.log(fsfd)
  return new MountSyscallError(syscall, code, target, `${what ? `${what}: ` : ''}${reason(log)}`)
}

/** The fs context's log is the kernel's own reason; what overlayfs prints instead goes to the kernel log. */
function reason(log: string[]): string {
  return log.length > 0 ? log.join('; ') : "see dmesg for the kernel's reason"
}

/**
 * On the event loop: the attach does no I/O in the layers, only the lookup of the target, a directory
 * in the root that the mount just made; a worker round trip would cost more than the call.
 */
function attach(api: FsMountApi, mfd: number, target: string): void {
  if (api.moveMount(mfd, target) === 0) return
  throw new MountSyscallError('move_mount', api.errno(), target)
}
