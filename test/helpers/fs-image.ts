import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'

import type {TempRoot} from './temp-root.js'

/**
 * A small ext4 of its own, loop-mounted at `<tmp.dir>/<name>`, for tests that depend on the root's
 * file system (with or without a journal: `mkfsOptions` such as ['-O', '^has_journal']). Returns the
 * mountpoint; TempRoot.cleanup unmounts it and detaches the loop device.
 */
export function mountExt4(tmp: TempRoot, name: string, mkfsOptions: string[] = []): string {
  const image = path.join(tmp.dir, `${name}.img`)
  const mountpoint = path.join(tmp.dir, name)
  fs.writeFileSync(image, '')
  fs.truncateSync(image, 64 << 20)
  execFileSync('mkfs.ext4', ['-q', '-F', ...mkfsOptions, image], {stdio: ['ignore', 'ignore', 'pipe']})
  fs.mkdirSync(mountpoint)
  execFileSync('mount', ['-o', 'loop', image, mountpoint], {stdio: ['ignore', 'ignore', 'pipe']})
  return mountpoint
}
