import {readSync} from 'node:fs'

import {type Libc, libc} from './libc.js'

/* include/uapi/linux/mount.h */
const FSOPEN_CLOEXEC = 1
const FSCONFIG_SET_STRING = 1
const FSCONFIG_SET_FD = 5
const FSCONFIG_CMD_CREATE = 6
const FSMOUNT_CLOEXEC = 1
const MOVE_MOUNT_F_EMPTY_PATH = 4
const AT_FDCWD = -100

/**
 * The new mount API (fsopen(2), fsconfig(2), fsmount(2), move_mount(2)) as the mounter uses it. Each
 * call returns what the syscall returns (-1 on failure, then `errno()` names the error of the last
 * synchronous call). The `Async` calls run on koffi's worker threads, whose errno is lost.
 */
export interface FsMountApi {
  /** Why this process cannot use the API (libc lacks it, or the kernel refused it once): set, every mount takes mount(2). */
  unavailable?: string
  fsopen(fstype: string): number
  setString(fsfd: number, key: string, value: string): number
  setFd(fsfd: number, key: string, fd: number): number
  create(fsfd: number): number
  createAsync(fsfd: number): Promise<number>
  fsmount(fsfd: number): number
  /** Attaches the detached mount `mfd` on `target` (as mount(2) would, with the target's propagation). */
  moveMount(mfd: number, target: string): number
  errno(): string
  /** What the file system said in the fs context's log (`e overlay: ...`), without the level prefix; drains it. */
  log(fsfd: number): string[]
}

type Fn = {async: (...args: unknown[]) => void} & ((...args: unknown[]) => number)

let loaded: FsMountApi | undefined

/** The API through libc, bound once per process; `unavailable` when libc has no wrappers (glibc < 2.36, musl). */
export function fsMountApi(): FsMountApi {
  if (loaded) return loaded
  const c = libc()
  try {
    loaded = bind(c)
  } catch (err) {
    const unavailable = `the C library has no fsopen/fsconfig/fsmount/move_mount (${(err as Error).message})`
    const refuse = () => {
      throw new Error(unavailable)
    }
    loaded = {unavailable, fsopen: refuse, setString: refuse, setFd: refuse, create: refuse, createAsync: refuse, fsmount: refuse, moveMount: refuse, errno: refuse, log: () => []}
  }
  return loaded
}

function bind(c: Libc): FsMountApi {
  const fsopen = c.lib.func('int fsopen(const char *fsname, unsigned int flags)') as unknown as Fn
  const fsconfig = c.lib.func('int fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux)') as unknown as Fn
  const fsmount = c.lib.func('int fsmount(int fd, unsigned int flags, unsigned int attr_flags)') as unknown as Fn
  const moveMount = c.lib.func('int move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned int flags)') as unknown as Fn
  const createArgs = (fsfd: number) => [fsfd, FSCONFIG_CMD_CREATE, null, null, 0]
  const moveArgs = (mfd: number, target: string) => [mfd, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH]
  return {
    fsopen: (fstype) => fsopen(fstype, FSOPEN_CLOEXEC),
    setString: (fsfd, key, value) => fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0),
    setFd: (fsfd, key, fd) => fsconfig(fsfd, FSCONFIG_SET_FD, key, null, fd),
    create: (fsfd) => fsconfig(...createArgs(fsfd)),
    createAsync: (fsfd) => callAsync(fsconfig, createArgs(fsfd)),
    fsmount: (fsfd) => fsmount(fsfd, FSMOUNT_CLOEXEC, 0),
    moveMount: (mfd, target) => moveMount(...moveArgs(mfd, target)),
    errno: () => c.errnoName(c.koffi.errno()),
    log: readFsLog,
  }
}

function callAsync(fn: Fn, args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: number) => (err ? reject(err) : resolve(result)))
  })
}

/** read(2) on an fs context gives one message per call ("e overlay: ...") and ENODATA once none is left. */
function readFsLog(fsfd: number): string[] {
  const messages: string[] = []
  const buf = Buffer.alloc(1024)
  // The kernel keeps at most 8 messages; the bound only guards against a read that never ends.
  for (let i = 0; i < 16; i++) {
    let n: number
    try {
      n = readSync(fsfd, buf, 0, buf.length, null)
    } catch {
      break // ENODATA: the log is empty
    }
    if (n <= 0) break
    const message = buf.subarray(0, n).toString('utf8').trim()
    messages.push(/^[ewi] /.test(message) ? message.slice(2) : message)
  }
  return messages
}
