import path from 'node:path'

import {type CrashHook, crashHookFromEnv} from '../disk/crash-points.js'
import {Flusher} from '../disk/flusher.js'
import {Layout} from '../disk/layout.js'
import {MetadataCache} from '../disk/metadata-cache.js'
import {defaultMounter} from '../kernel/default-mounter.js'
import {type MetadataOrder, metadataOrderOf} from '../kernel/fs-order.js'
import type {Mounter} from '../kernel/mounter.js'
import {type Logger, silentLogger} from '../logger.js'
import {BackgroundWork} from './background.js'
import {VolumeLocks} from './lock.js'
import {NewVolumes} from './new-volumes.js'

export interface StoreOptions {
  root: string
  /** How mounts are made; by default the in-process syscalls, loaded on first use. */
  mounter?: Mounter
  logger?: Logger
  crashHook?: CrashHook
  /** How a new volume's files and directories are made durable; fsync by default. */
  sync?: (path: string) => Promise<void>
  /**
   * `always`: flush every new volume before its first mount, as on a file system that does not keep
   * metadata in order (`DOT_CREATE_SYNC=always` too). `auto` (the default): only where it does not.
   */
  createSync?: 'auto' | 'always'
}

/**
 * What every operation on a root works with, passed explicitly to the verbs (create, remove, mount,
 * unmount, reads), to repair, recover and diff. One per store; holds no volume state of its own apart
 * from the locks, the work that outlives an answer and the cached listing of the root.
 */
export interface StoreContext {
  readonly layout: Layout
  readonly logger: Logger
  readonly locks: VolumeLocks
  readonly crash: CrashHook
  /** Work that runs after the operation that started it answered (trash deletion, flushes). */
  readonly background: BackgroundWork
  /** New volumes on their way to the disk (see create and mount). */
  readonly newVolumes: NewVolumes
  /** Parsed metadata.json files, reused while unchanged (disk/metadata-cache.ts). */
  readonly metadata: MetadataCache
  /** Whether the root's file system keeps metadata in order (kernel/fs-order.ts): asked once, at the first create. */
  metadataOrder(): MetadataOrder
  /** The last listing of the root and the root's mtime then (see read.ts: names). */
  namesCache: {mtimeNs: bigint; names: string[]} | undefined
  /** Entries in the root at its last listing (read.ts: names lists a small root synchronously). */
  lastListingSize?: number
  /** The mounter, loaded on first use. */
  mounter(): Promise<Mounter>
}

/** A context on `options.root`, taken as given (VolumeStore.open resolves it first). */
export function createContext(options: StoreOptions): StoreContext {
  const layout = new Layout(path.resolve(options.root))
  const logger = options.logger ?? silentLogger
  const background = new BackgroundWork(logger)
  const flusher = new Flusher((p, err) => logger.warn(`flushing ${p} to disk: ${err.message}`), options.sync)
  let order: MetadataOrder | undefined
  let mounterPromise: Promise<Mounter> | undefined = options.mounter ? Promise.resolve(options.mounter) : undefined
  return {
    layout,
    logger,
    locks: new VolumeLocks(layout, logger),
    crash: options.crashHook ?? crashHookFromEnv(),
    background,
    newVolumes: new NewVolumes(flusher, background),
    metadata: new MetadataCache(),
    namesCache: undefined,
    metadataOrder() {
      order ??= decideOrder(layout.root, options.createSync ?? (process.env.DOT_CREATE_SYNC === 'always' ? 'always' : 'auto'), logger)
      return order
    },
    mounter() {
      mounterPromise ??= defaultMounter()
      return mounterPromise
    },
  }
}

function decideOrder(root: string, createSync: 'auto' | 'always', logger: Logger): MetadataOrder {
  const order: MetadataOrder = createSync === 'always' ? {ordered: false, why: 'asked to flush every new volume (DOT_CREATE_SYNC=always)'} : metadataOrderOf(root)
  logger.debug(`root ${root}: ${order.why}; new volumes ${order.ordered ? 'need no flush before their first mount' : 'are flushed before their first mount'}`)
  return order
}
