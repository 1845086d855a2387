import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'

/**
 * A scratch directory for one test file: `<dir>/root` for the store, and `base(name)` for base
 * directories. `cleanup()` unmounts everything mounted below it (deepest first, lazily if busy), even
 * when the test failed, then deletes it. Register it with `after(() => tmp.cleanup())`.
 */
export class TempRoot {
  readonly dir: string
  readonly root: string

  constructor(prefix = 'dot-test-') {
    this.dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))
    this.root = path.join(this.dir, 'root')
  }

  /** Makes a base directory with the given files ({"a/b.txt": "content"}). */
  base(name: string, files: Record<string, string> = {}): string {
    const dir = path.join(this.dir, 'bases', name)
    fs.mkdirSync(dir, {recursive: true})
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), {recursive: true})
      fs.writeFileSync(path.join(dir, file), content)
    }
    return dir
  }

  /** Mountpoints below this temp dir, from /proc/self/mountinfo. */
  mounts(): string[] {
    return mountsBelow(this.dir)
  }

  cleanup(): void {
    unmountBelow(this.dir)
    detachLoopsBelow(this.dir)
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

export function mountsBelow(dir: string): string[] {
  const entries = parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))
  return entries.map((e) => e.mountpoint).filter((mp) => mp === dir || mp.startsWith(dir + '/'))
}

export function unmountBelow(dir: string): void {
  for (let round = 0; round < 5; round++) {
    const mounts = mountsBelow(dir).sort((a, b) => b.length - a.length)
    if (mounts.length === 0) return
    for (const mp of mounts) {
      try {
        execFileSync('umount', ['-l', mp], {stdio: 'ignore'})
      } catch {
        // already gone, or unmounted with its parent
      }
    }
  }
}

/** Loop devices backed by a file below `dir` (a size-limited volume's image), from /sys/block. */
export function loopsBelow(dir: string): string[] {
  const found: string[] = []
  for (const name of fs.readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
    let file: string
    try {
      file = fs.readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim()
    } catch {
      continue // not attached
    }
    if (file.startsWith(dir + '/')) found.push(`/dev/${name}`)
  }
  return found
}

/** Detaches what a failed test left attached; an unmounted image's AUTOCLEAR device goes by itself. */
export function detachLoopsBelow(dir: string): void {
  for (const device of loopsBelow(dir)) {
    try {
      execFileSync('losetup', ['-d', device], {stdio: 'ignore'})
    } catch {
      // detached meanwhile
    }
  }
}
