import fs from 'node:fs/promises'
import path from 'node:path'

import {errnoCode} from '../errors.js'
import type {Layout} from '../disk/layout.js'
import {type MountEntry, parseMountinfo, readMountinfo} from '../kernel/mountinfo.js'

/** Who holds a volume's overlay, as the kernel says: one entry per mount namespace that uses it. */
export interface OverlayUser {
  /** A process in that namespace (the first one found). */
  pid: number
  /** The namespace, as /proc/<pid>/ns/mnt names it: `mnt:[4026532512]`. */
  namespace: string
  /** Where the overlay is mounted there (a container's volume target, say). */
  mountpoint: string
}

export interface KernelUsage {
  /** Volume name → the namespaces using its overlay. A volume not in the map is used by none. */
  users: Map<string, OverlayUser[]>
  /** How many distinct mount namespaces were read. */
  namespaces: number
  /** Processes whose namespace could not be read (gone meanwhile, or not permitted). */
  unreadable: number
}

/**
 * Which of `names` are in use, whatever engine runs the containers: a volume is in use while any mount
 * namespace holds a mount of its overlay other than a view of the volume's own mountpoint. Every
 * process's namespace is read once (deduplicated by /proc/<pid>/ns/mnt); the overlay is recognised by
 * its device (major:minor), which is the same in every namespace, so two roots' volumes of one name
 * are never confused.
 *
 * Views of the mountpoint are the mount docker-on-top made and its copies propagated to other
 * namespaces (a managed plugin's, dockerd's under systemd): all end in `/<name>/mountpoint`. A
 * container's mount is at its target path (`/data`), which does not.
 */
export async function overlaysInUse(layout: Layout, names: string[], proc = '/proc'): Promise<KernelUsage> {
  const byDev = new Map<string, string>()
  const ours = await readMountinfo(path.join(proc, 'self', 'mountinfo'))
  for (const name of names) {
    const mountpoint = layout.mountpoint(name)
    const own = ours.filter((e) => e.fstype === 'overlay' && e.mountpoint === mountpoint).at(-1)
    if (own) byDev.set(own.dev, name)
  }
  const usage: KernelUsage = {users: new Map(), namespaces: 0, unreadable: 0}
  if (byDev.size === 0) return usage
  const seen = new Set<string>()
  for (const pid of await processIds(proc)) {
    const entries = await namespaceMounts(proc, pid, seen)
    if (entries === 'unreadable') usage.unreadable++
    if (!entries || entries === 'unreadable') continue
    usage.namespaces++
    const {namespace, mounts} = entries
    for (const entry of mounts) {
      const name = entry.fstype === 'overlay' ? byDev.get(entry.dev) : undefined
      if (!name || isMountpointView(entry, name)) continue
      const users = usage.users.get(name) ?? []
      if (!users.some((u) => u.namespace === namespace)) users.push({pid, namespace, mountpoint: entry.mountpoint})
      usage.users.set(name, users)
    }
  }
  return usage
}

function isMountpointView(entry: MountEntry, name: string): boolean {
  return entry.mountpoint.endsWith(`/${name}/mountpoint`)
}

async function processIds(proc: string): Promise<number[]> {
  return (await fs.readdir(proc)).filter((entry) => /^\d+$/.test(entry)).map(Number)
}

/**
 * The mounts of `pid`'s namespace, or undefined when that namespace was read already. A process that
 * exits meanwhile, or whose namespace this process may not read, is 'unreadable'.
 */
async function namespaceMounts(proc: string, pid: number, seen: Set<string>): Promise<{namespace: string; mounts: MountEntry[]} | 'unreadable' | undefined> {
  try {
    const namespace = await fs.readlink(path.join(proc, String(pid), 'ns', 'mnt'))
    if (seen.has(namespace)) return undefined
    const mounts = parseMountinfo(await fs.readFile(path.join(proc, String(pid), 'mountinfo'), 'utf8'))
    // Only once read: another process of a namespace whose first one exited still gets it read.
    seen.add(namespace)
    return {namespace, mounts}
  } catch (err) {
    if (['ENOENT', 'ESRCH', 'EACCES', 'EPERM', 'EINVAL'].includes(errnoCode(err) ?? '')) return 'unreadable'
    throw err
  }
}
