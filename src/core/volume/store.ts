import type {Layout} from '../disk/layout.js'
import {validateName} from '../disk/names.js'
import type {Logger} from '../logger.js'
import {createContext, type StoreContext, type StoreOptions} from './context.js'
import {createVolume} from './create.js'
import {mountVolume} from './mount.js'
import {changesSize, getVolume, listBrief, listVolumes, volumeNames, type Volume} from './read.js'
import {removeVolume} from './remove.js'
import {resolveStoreRoot} from './store-root.js'
import {type UnmountResult, dropMountUse, unmountVolume} from './unmount.js'

export type {StoreOptions} from './context.js'
export type {Volume} from './read.js'
export type {UnmountResult} from './unmount.js'

export const DEFAULT_ROOT = '/var/lib/docker-on-top'

/**
 * The volume store on one root directory: a facade over the verbs in this directory, each of which
 * takes the store's context. Stateless apart from locks and a listing of the root that its mtime
 * validates: every answer is read from disk and the kernel, so `dot serve` and `dot` commands run by
 * hand share it safely.
 *
 * The rules (docs/rules.md): records mean use (mount, then record; unrecord, then unmount); the base is
 * never written; changes are deleted only when asked (rm, or the volatile wipe at the next first mount);
 * every multi-step change is valid or detectably dirty at each step (see `reconcile`).
 */
export class VolumeStore {
  /** What the verbs, repair, recover and diff work with. */
  readonly context: StoreContext

  constructor(options: StoreOptions) {
    this.context = createContext(options)
  }

  /** Opens a store; the root is resolved through symlinks, as the kernel reports mountpoints by real path. */
  static async open(options: StoreOptions): Promise<VolumeStore> {
    const root = await resolveStoreRoot(options.root)
    return new VolumeStore({...options, root})
  }

  get root(): string {
    return this.context.layout.root
  }

  get layout(): Layout {
    return this.context.layout
  }

  get logger(): Logger {
    return this.context.logger
  }

  /** Async like the rest of the facade's reads, though the read itself is synchronous. */
  async get(name: string): Promise<Volume> {
    this.context.background.touch()
    return getVolume(this.context, name)
  }

  names(): Promise<string[]> {
    return volumeNames(this.context)
  }

  listBrief(): Promise<{name: string; mountpoint?: string}[]> {
    this.context.background.touch()
    return listBrief(this.context)
  }

  list(): Promise<Volume[]> {
    return listVolumes(this.context)
  }

  changesSize(name: string): Promise<number> {
    return changesSize(this.context, name)
  }

  create(name: string, rawOptions: unknown): Promise<Volume> {
    this.context.background.touch()
    return createVolume(this.context, name, rawOptions)
  }

  remove(name: string, options: {force?: boolean; byDocker?: boolean} = {}): Promise<void> {
    this.context.background.touch()
    return removeVolume(this.context, name, options)
  }

  mount(name: string, id: string): Promise<string> {
    this.context.background.touch()
    return mountVolume(this.context, name, id)
  }

  /** Drops one use of mount ID `id`; says whether it was mounted and what is left. */
  unmount(name: string, id: string): Promise<UnmountResult> {
    this.context.background.touch()
    return unmountVolume(this.context, name, id)
  }

  /** Drops one use of mount ID `id`, reading nothing back (the plugin's Unmount and Mount rollback). */
  dropUse(name: string, id: string): Promise<void> {
    this.context.background.touch()
    return dropMountUse(this.context, name, id)
  }

  /** Runs `task` holding the volume's lock. */
  withVolumeLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    return this.context.locks.withLock(validateName(name), task)
  }

  /** Waits for the work that follows answers (trash deletion, flushes of new volumes). */
  settled(): Promise<void> {
    return this.context.background.settled()
  }

  /** Waits for background work to finish (`settled`); the store holds nothing else to release. */
  close(): Promise<void> {
    return this.settled()
  }
}
