import {statfsSync} from 'node:fs'
import path from 'node:path'

import {errnoCode, invalid} from '../errors.js'

/**
 * Filesystems of the kernel's own making (statfs(2) f_type, from linux/magic.h): no place for a store
 * root, a recover's copy or a volume's base. Writing there fails in odd ways (Node's recursive mkdir
 * spins forever on ENOENT under /proc, holding the event loop so that not even SIGTERM is answered),
 * and overlayfs refuses them as a lower layer. tmpfs and devtmpfs are real storage: not listed.
 */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0x62656570, 'configfs'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x0187, 'autofs'],
])

/**
 * The pseudo filesystem holding `p`, or its nearest existing ancestor when `p` does not exist yet (a
 * directory about to be made); undefined for real storage. One statfs per path component missing.
 */
export function pseudoFilesystemOf(p: string): string | undefined {
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    try {
      return PSEUDO_FILESYSTEMS.get(Number(statfsSync(dir).type))
    } catch (err) {
      const code = errnoCode(err)
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dir === '/') return undefined // the caller's own checks say why
    }
  }
}

/** Refuses `p` (described by `what`, e.g. "the store root") if it lies on a pseudo filesystem. */
export function refusePseudoFilesystem(p: string, what: string): void {
  const fs = pseudoFilesystemOf(p)
  if (fs) throw invalid(`${what} ${JSON.stringify(p)} is on ${fs}, a pseudo filesystem of the kernel; choose a directory on real storage`, {path: p, filesystem: fs})
}
