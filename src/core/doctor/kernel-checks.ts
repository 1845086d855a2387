import fs from 'node:fs/promises'
import path from 'node:path'

import {type Check, check} from './check.js'

export interface KernelPaths {
  /** `/proc` and `/sys`, movable for tests. */
  proc: string
  sys: string
}

const read = (file: string) => fs.readFile(file, 'utf8').then((text) => text.trim(), () => undefined)

/** overlayfs in the kernel (/proc/filesystems). */
export async function overlayCheck(paths: KernelPaths): Promise<Check> {
  const filesystems = (await read(path.join(paths.proc, 'filesystems'))) ?? ''
  if (/\toverlay$/m.test(filesystems)) return check('overlay', 'ok', 'overlayfs is in the kernel (/proc/filesystems)')
  return check('overlay', 'fail', 'overlayfs is not in /proc/filesystems: no volume can be mounted', 'modprobe overlay (and add "overlay" to /etc/modules-load.d/), or use a kernel with CONFIG_OVERLAY_FS')
}

/**
 * The overlay module's defaults that change what a volume's upper layer holds, and so what `dot diff`
 * and `dot recover` read (volumes are mounted without options that override them).
 */
export async function overlayFeatureChecks(paths: KernelPaths): Promise<Check[]> {
  const dir = path.join(paths.sys, 'module', 'overlay', 'parameters')
  const param = async (name: string) => {
    const value = await read(path.join(dir, name))
    return value === undefined ? undefined : value === 'Y' || value === 'on'
  }
  const [redirect, index, metacopy] = await Promise.all([param('redirect_dir'), param('index'), param('metacopy')])
  if (redirect === undefined && index === undefined && metacopy === undefined) {
    return [check('overlay-features', 'skip', `${dir} is not readable (overlay not loaded yet?): kernel defaults unknown`)]
  }
  const checks = [
    redirect
      ? check('overlay-redirect-dir', 'info', 'redirect_dir=on: a directory renamed in a volume is recorded as one rename (dot diff shows it once)')
      : check('overlay-redirect-dir', 'info', 'redirect_dir=off: renaming a directory in a volume copies it, so dot diff shows its files deleted and added'),
    check('overlay-index', 'info', `index=${index ? 'on' : 'off'}: ${index ? 'hard links survive a copy-up; a volume is tied to its base directory (moving the base breaks the mount)' : 'a hard-linked file copied up is split from its links'}`),
  ]
  if (metacopy) {
    checks.push(check('overlay-metacopy', 'warn', 'metacopy=on: a chmod or chown copies up metadata only, so an upper-layer file may hold no data of its own (its data stays in the base)', 'salvage with dot recover NAME --to DIR (the merged view), not --changes-only; or set overlay.metacopy=off on the kernel command line'))
  } else {
    checks.push(check('overlay-metacopy', 'ok', 'metacopy=off: every copy-up in an upper layer holds the whole file'))
  }
  return checks
}

/** AppArmor and SELinux, where they are on: what containers need to write to a volume. */
export async function securityChecks(paths: KernelPaths): Promise<Check[]> {
  const checks: Check[] = []
  if ((await read(path.join(paths.sys, 'module', 'apparmor', 'parameters', 'enabled'))) === 'Y') {
    checks.push(check('apparmor', 'info', "AppArmor is on: docker's default profile lets containers use volume mounts; a custom profile must allow mounts under the root"))
  }
  const enforce = await read(path.join(paths.sys, 'fs', 'selinux', 'enforce'))
  if (enforce === '1') {
    checks.push(check('selinux', 'warn', 'SELinux is enforcing: containers may be denied writes to a volume', 'mount volumes with a relabel option: docker run -v NAME:/path:z (shared) or :Z (private)'))
  } else if (enforce === '0') {
    checks.push(check('selinux', 'info', 'SELinux is permissive: denials are logged, not enforced'))
  }
  if (checks.length === 0) checks.push(check('security-modules', 'skip', 'neither AppArmor nor SELinux is on'))
  return checks
}
