import {lstatSync} from 'node:fs'
import path from 'node:path'

/**
 * The on-disk layout, compatible with the Go original (kolayne/docker-on-top v0.1.2):
 *
 *   <root>/<name>/metadata.json         {"BaseDirPath": "/abs", "Volatile": false, "CreatedAt": "..."}
 *   <root>/<name>/activemounts/<id>     {"UsageCount": n}: one file per mount ID in use
 *   <root>/<name>/upper/                the overlay's upper layer: the volume's changes; always present
 *   <root>/<name>/workdir/              the overlay's work dir; made by the first mount, kept for the next
 *   <root>/<name>/mountpoint/           where the overlay is mounted; made by the first mount, kept
 *
 * Snapshots (layout version 2; a volume that never had one keeps exactly the version-1 layout above):
 *   <root>/<name>/layers/index.json     the frozen layers, oldest first: tag, created, directory (layer-index.ts)
 *   <root>/<name>/layers/<dir>/         one frozen upper layer, read-only: mounted as a lower above the base
 *   <root>/<name>/layers/.<scratch>     a layer being built, or dropped; anything the index does not name
 *                                        is garbage, swept under the volume's lock (snapshot/switch.ts)
 *
 * (The Go original removes workdir/ and mountpoint/ at the last unmount; both read the other's trees.)
 *
 * A volume with a size limit (`size=`) or on tmpfs (`tmpfs=true`) keeps its changes on a file system of
 * their own (overlayfs needs upper and work dir on one), so its upper/ and workdir/ move one level down:
 *   <root>/<name>/limit.img             sparse ext4 image of the limit's size (size= without tmpfs)
 *   <root>/<name>/limit/                where the image (or the tmpfs) is mounted; the records and
 *   <root>/<name>/limit/upper/          metadata stay outside, so a full limit never touches them
 *   <root>/<name>/limit/workdir/
 * Volumes without these options keep exactly the layout above.
 *
 * Scratch entries start with "." so that no volume name can collide with them:
 *   <root>/.tmp-<name>-<rand>/          a create in flight (renamed to <root>/<name> when complete)
 *   <root>/.trash-<name>-<rand>/        a committed remove or a volatile wipe, being deleted
 *   <root>/.recover-<name>-<rand>/      a recover's read-only view of a volume, mounted on view/
 * A create's and a recover's entry are in use while their maker holds a flock(2) on them.
 *
 * A volume's lock is a flock(2) on its directory (volume-lock.ts). Older builds kept lock files in
 *   <root>/.locks/                       swept at start-up and by `dot gc`
 */
export class Layout {
  constructor(readonly root: string) {}

  volume(name: string): string {
    return path.join(this.root, name)
  }
  metadata(name: string): string {
    return path.join(this.root, name, 'metadata.json')
  }
  activeMounts(name: string): string {
    return path.join(this.root, name, 'activemounts')
  }
  activeMount(name: string, id: string): string {
    return path.join(this.root, name, 'activemounts', id)
  }
  /**
   * Where a volume's changes live: the upper layer, the overlay's work dir (same file system as the
   * upper), the frozen layers. The one place these paths are computed, so that they can move together.
   */
  changes(name: string): {upper: string; workdir: string; layers: string} {
    return this.changesOf(name, this.hasLimitDir(name))
  }
  /** `changes` of a volume whose metadata already told whether it has a limit (size= or tmpfs=true): no lstat. */
  changesOf(name: string, limited: boolean): {upper: string; workdir: string; layers: string} {
    const changes = limited ? this.limit(name) : path.join(this.root, name)
    return {upper: path.join(changes, 'upper'), workdir: path.join(changes, 'workdir'), layers: this.layers(name)}
  }
  upper(name: string): string {
    return this.changes(name).upper
  }
  workdir(name: string): string {
    return this.changes(name).workdir
  }
  /** The directory of a volume's frozen layers (snapshots); absent while it has none. */
  layers(name: string): string {
    return path.join(this.root, name, 'layers')
  }
  layerIndex(name: string): string {
    return path.join(this.layers(name), 'index.json')
  }
  layer(name: string, dir: string): string {
    return path.join(this.layers(name), dir)
  }
  /** Where a size-limited or tmpfs volume's file system is mounted. */
  limit(name: string): string {
    return path.join(this.root, name, LIMIT_DIR)
  }
  limitImage(name: string): string {
    return path.join(this.root, name, LIMIT_IMAGE)
  }
  /** Whether upper/ and workdir/ are in the volume's limit/ rather than its own directory. */
  private hasLimitDir(name: string): boolean {
    return lstatSync(this.limit(name), {throwIfNoEntry: false})?.isDirectory() ?? false
  }
  mountpoint(name: string): string {
    return path.join(this.root, name, 'mountpoint')
  }
  /** The volume whose mountpoint `mountpoint` is (`<root>/<name>/mountpoint`), or undefined. */
  volumeOfMountpoint(mountpoint: string): string | undefined {
    const prefix = this.root.endsWith('/') ? this.root : `${this.root}/`
    if (!mountpoint.startsWith(prefix) || !mountpoint.endsWith('/mountpoint')) return undefined
    const name = mountpoint.slice(prefix.length, -'/mountpoint'.length)
    return name === '' || name.includes('/') ? undefined : name
  }
  /** Where older builds kept their lock files (proper-lockfile); only swept now (see VolumeLocks). */
  oldLocks(): string {
    return path.join(this.root, OLD_LOCKS_DIR)
  }
  /** A fresh scratch path for `kind` (`tmp`, `trash` or `recover`) of volume `name`. */
  scratch(kind: 'tmp' | 'trash' | 'recover', name: string): string {
    const rand = Math.random().toString(36).slice(2, 10)
    return path.join(this.root, `.${kind}-${name}-${rand}`)
  }
}

export const OLD_LOCKS_DIR = '.locks'
export const LIMIT_DIR = 'limit'
export const LIMIT_IMAGE = 'limit.img'
export const CREATE_SCRATCH_PREFIX = '.tmp-'
export const RECOVER_SCRATCH_PREFIX = '.recover-'
/**
 * The changes commands work in `.tmp-<op>-<name>-<rand>` too (flocked like a create's). A create of a
 * volume named `import-x` looks the same; the one whose volume `<name>` exists is the operation's.
 */
export const CHANGE_SCRATCH_OPS = ['import', 'reset', 'export', 'commit'] as const
export const SCRATCH_PREFIXES = [CREATE_SCRATCH_PREFIX, '.trash-', RECOVER_SCRATCH_PREFIX] as const
/** The overlay's source name: makes our mounts easy to find in /proc/self/mountinfo, as in the Go original. */
export const MOUNT_SOURCE_PREFIX = 'docker-on-top_'
