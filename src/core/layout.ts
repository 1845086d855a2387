import path from 'node:path'

/**
 * The on-disk layout, compatible with the Go original (kolayne/docker-on-top v0.1.2):
 *
 *   <root>/<name>/metadata.json         {"BaseDirPath": "/abs", "Volatile": false, "CreatedAt": "..."}
 *   <root>/<name>/activemounts/<id>     {"UsageCount": n}: one file per mount ID in use
 *   <root>/<name>/upper/                the overlay's upper layer: the volume's changes; always present
 *   <root>/<name>/workdir/              the overlay's work dir; exists only while mounted
 *   <root>/<name>/mountpoint/           where the overlay is mounted; exists only while mounted
 *
 * Scratch entries start with "." so that no volume name can collide with them:
 *   <root>/.tmp-<name>-<rand>/          a create in flight (renamed to <root>/<name> when complete)
 *   <root>/.trash-<name>-<rand>/        a committed remove or a volatile wipe, being deleted
 *   <root>/.locks/<name>.lock           one volume's lock file (proper-lockfile, given a file for its directory)
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
  upper(name: string): string {
    return path.join(this.root, name, 'upper')
  }
  workdir(name: string): string {
    return path.join(this.root, name, 'workdir')
  }
  mountpoint(name: string): string {
    return path.join(this.root, name, 'mountpoint')
  }
  locks(): string {
    return path.join(this.root, LOCKS_DIR)
  }
  lockTarget(name: string): string {
    return path.join(this.root, LOCKS_DIR, name)
  }
  /** A fresh scratch path for `kind` (`tmp` or `trash`) of volume `name`. */
  scratch(kind: 'tmp' | 'trash', name: string): string {
    const rand = Math.random().toString(36).slice(2, 10)
    return path.join(this.root, `.${kind}-${name}-${rand}`)
  }
}

export const LOCKS_DIR = '.locks'
export const SCRATCH_PREFIXES = ['.tmp-', '.trash-'] as const
/** The overlay's source name: makes our mounts easy to find in /proc/self/mountinfo, as in the Go original. */
export const MOUNT_SOURCE_PREFIX = 'docker-on-top_'
