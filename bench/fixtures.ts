import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * Where scratch roots go: DOT_BENCH_DIR, else /var/tmp, on the disk a real root (/var/lib) uses.
 * Not os.tmpdir(): on the test machines /tmp churns with every test run and creating a file there was
 * measured at 3-6x the cost it has under /var/tmp, which would be a property of /tmp, not of dot.
 */
const SCRATCH_PARENT = process.env.DOT_BENCH_DIR || (fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir())

/**
 * A scratch directory for one bench section: `root` for a store and `base` for the volumes' lower
 * layer. `cleanup()` lazily unmounts whatever is still mounted below it, then deletes it.
 */
export class Scratch {
  readonly dir: string
  readonly root: string
  readonly base: string

  constructor(label: string) {
    this.dir = fs.realpathSync(fs.mkdtempSync(path.join(SCRATCH_PARENT, `dot-bench-${label}-`)))
    this.root = path.join(this.dir, 'root')
    this.base = path.join(this.dir, 'base')
    fs.mkdirSync(this.root, {mode: 0o711})
    fs.mkdirSync(this.base)
    fs.writeFileSync(path.join(this.base, 'hello.txt'), 'hello from the base\n')
  }

  path(name: string): string {
    return path.join(this.dir, name)
  }

  cleanup(): void {
    for (let round = 0; round < 5; round++) {
      const mounts = mountsBelow(this.dir)
      if (mounts.length === 0) break
      for (const mp of mounts) unmountDetached(mp)
    }
    fs.rmSync(this.dir, {recursive: true, force: true})
  }
}

/**
 * Writes `count` volumes straight into the documented on-disk layout (src/core/disk/layout.ts):
 * `<root>/<name>/metadata.json`, `upper/`, `activemounts/`. Much faster than creating them one by one
 * through the plugin, and it is the format both faces read.
 */
export function writeVolumes(root: string, base: string, count: number, prefix = 'vol'): string[] {
  const names: string[] = []
  const metadata = JSON.stringify({BaseDirPath: base, Volatile: false, CreatedAt: new Date().toISOString()}) + '\n'
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${String(i).padStart(5, '0')}`
    const dir = path.join(root, name)
    fs.mkdirSync(path.join(dir, 'upper'), {recursive: true, mode: 0o755})
    fs.mkdirSync(path.join(dir, 'activemounts'), {mode: 0o755})
    fs.writeFileSync(path.join(dir, 'metadata.json'), metadata, {mode: 0o644})
    names.push(name)
  }
  return names
}

export function mountsBelow(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => mp !== undefined)
    .map((mp) => mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length)
}

/** Overlays mounted exactly on `mountpoint`. */
export function overlaysOn(mountpoint: string): number {
  let count = 0
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    if (dash > 0 && fields[4] === mountpoint && fields[dash + 1] === 'overlay') count++
  }
  return count
}

/** umount(8) -l rather than the FFI: cleanup must work even where koffi does not load. */
function unmountDetached(mountpoint: string): void {
  try {
    execFileSync('umount', ['-l', mountpoint], {stdio: 'ignore'})
  } catch {
    // already gone, or unmounted with its parent
  }
}
