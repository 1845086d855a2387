import {closeSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'

import {checkBase} from './base-check.js'
import {type CrashHook, crashHookFromEnv} from './crash-points.js'
import {diskUsage} from './disk-usage.js'
import {busy, DotError, errnoCode, exists, inUse, invalid, wrap} from './errors.js'
import {Flusher} from './flusher.js'
import {Layout} from './layout.js'
import {type Logger, silentLogger} from './logger.js'
import {type Metadata, readMetadata, writeMetadata} from './metadata.js'
import {overlayMountpoints, readMountinfo} from './mountinfo.js'
import {validateName} from './names.js'
import {type CreateOptions, parseCreateOptions} from './options.js'
import {overlayMount} from './overlay-options.js'
import {overlayMountedOn} from './overlay-mounted.js'
import {createRecord, listRecordIds, readRecord, readRecords, validateMountId, writeRecord} from './records.js'
import {defaultMounter} from './system/default-mounter.js'
import type {Mounter} from './system/mounter.js'
import {VolumeLocks} from './volume-lock.js'

/** A volume as both faces show it. Cheap to build: no walk of the upper layer. */
export interface Volume {
  name: string
  base: string
  volatile: boolean
  createdAt: Date
  /** Whether the overlay is mounted, according to /proc/self/mountinfo. */
  mounted: boolean
  /** The merged view, present only while mounted. */
  mountpoint?: string
  /** Active mount IDs and how many times each is mounted. */
  mounts: Record<string, number>
  /** The upper layer: the volume's changes. */
  upper: string
}

export interface StoreOptions {
  root: string
  /** How mounts are made; by default the in-process syscalls, loaded on first use. */
  mounter?: Mounter
  logger?: Logger
  crashHook?: CrashHook
  /** How a new volume's files and directories are made durable; fsync by default. */
  sync?: (path: string) => Promise<void>
}

export const DEFAULT_ROOT = '/var/lib/docker-on-top'

/** How long the root must have been unchanged for its listing to be reused (well over a kernel tick). */
const NAMES_CACHE_QUIET_NS = 50_000_000n

/** EBUSY on unmount is retried this many times before the overlay is detached lazily. */
const UNMOUNT_BUSY_RETRIES = 3

/**
 * The volume store on one root directory. Stateless apart from locks (and a listing of the root that
 * its mtime validates, see `names`): every answer is read from disk
 * and /proc/self/mountinfo, so `dot serve` and `dot` commands run by hand share it safely.
 *
 * The rules (DESIGN.md §4): records mean use (mount, then record; unrecord, then unmount); the base is
 * never written; changes are deleted only when asked (rm, or the volatile wipe at the next first mount);
 * every multi-step change is valid or detectably dirty at each step (see `reconcile`).
 */
export class VolumeStore {
  readonly layout: Layout
  readonly logger: Logger
  private readonly locks: VolumeLocks
  private readonly crash: CrashHook
  /** Makes new volumes durable after their Create was answered (see `createParsed`). */
  private readonly flusher: Flusher
  /** New volumes whose flush is still pending: name -> its completion. */
  private readonly unflushed = new Map<string, Promise<void>>()
  private mounterPromise: Promise<Mounter> | undefined
  /** Work that runs after the operation that started it answered (see `inBackground`); `close` awaits it. */
  private readonly cleanups = new Set<Promise<void>>()
  /** The last listing of the root and the root's mtime then (see `names`). */
  private namesCache: {mtimeNs: bigint; names: string[]} | undefined

  constructor(options: StoreOptions) {
    this.layout = new Layout(path.resolve(options.root))
    this.logger = options.logger ?? silentLogger
    this.locks = new VolumeLocks(this.layout, this.logger)
    this.crash = options.crashHook ?? crashHookFromEnv()
    this.flusher = new Flusher((p, err) => this.logger.warn(`flushing ${p} to disk: ${err.message}`), options.sync)
    if (options.mounter) this.mounterPromise = Promise.resolve(options.mounter)
  }

  /** Opens a store; the root is resolved through symlinks, as /proc/self/mountinfo shows real paths. */
  static async open(options: StoreOptions): Promise<VolumeStore> {
    const root = await realpathOfNearest(path.resolve(options.root))
    return new VolumeStore({...options, root})
  }

  get root(): string {
    return this.layout.root
  }

  mounter(): Promise<Mounter> {
    this.mounterPromise ??= defaultMounter()
    return this.mounterPromise
  }

  /** Waits for the work that follows answers (trash deletion, flushes of new volumes). */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all(this.cleanups)
  }

  /** Waits for background work to finish (`settled`); the store holds nothing else to release. */
  async close(): Promise<void> {
    await this.settled()
  }

  // ---- reads: no lock, tolerant of a volume vanishing mid-read ----

  async get(name: string): Promise<Volume> {
    validateName(name)
    const [meta, records] = await Promise.all([readMetadata(this.layout.metadata(name), name), readRecords(this.layout, name)])
    return this.toVolume(name, meta, records, overlayMountedOn(this.layout.mountpoint(name)))
  }

  /**
   * The names of all volumes: directories of the root with a valid name. No per-volume reads.
   * The listing is reused while the root's mtime is unchanged (creating, removing or renaming an entry
   * changes it): one stat instead of a readdir, ~7 ms with 10,000 volumes, on every `docker volume ls`.
   * The kernel stamps mtimes from a coarse clock (one tick: 1-10 ms), so a listing is kept only when
   * the root had not changed for NAMES_CACHE_QUIET_NS before it was read: a later change is then at
   * least a tick later and gets a newer stamp. (It was a second: a List within a second of any create
   * or remove read the whole root, 0.8 ms with 1,000 volumes.)
   */
  async names(): Promise<string[]> {
    let stat
    try {
      stat = statSync(this.root, {bigint: true})
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return []
      throw wrap(`listing ${this.root}`, err)
    }
    if (this.namesCache?.mtimeNs === stat.mtimeNs) return [...this.namesCache.names]
    this.namesCache = undefined
    let entries
    try {
      entries = await fs.readdir(this.root, {withFileTypes: true})
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return []
      throw wrap(`listing ${this.root}`, err)
    }
    const names: string[] = []
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue
      try {
        names.push(validateName(entry.name))
      } catch {
        // Not ours (a name we never create); `dot gc` reports it.
      }
    }
    names.sort()
    if (BigInt(Date.now()) * 1_000_000n - stat.mtimeNs > NAMES_CACHE_QUIET_NS) this.namesCache = {mtimeNs: stat.mtimeNs, names: [...names]}
    return names
  }

  /** Names with their mountpoint when mounted: what the plugin's List needs, without reading each volume. */
  async listBrief(): Promise<{name: string; mountpoint?: string}[]> {
    const [names, mounts] = await Promise.all([this.names(), this.overlayMounts()])
    // Few volumes are mounted: find them by name rather than build 10,000 paths (path.join normalises,
    // ~0.4 µs each, half of List's own time at that scale).
    const mounted = new Map<string, string>()
    for (const name of names.length > 0 ? mountedVolumeNames(this.root, mounts.keys()) : []) mounted.set(name, this.layout.mountpoint(name))
    return names.map((name) => {
      const mountpoint = mounted.get(name)
      return mountpoint && mounts.has(mountpoint) ? {name, mountpoint} : {name}
    })
  }

  /** Every volume, read in full. Volumes with unreadable metadata are skipped (and logged): gc reports them. */
  async list(): Promise<Volume[]> {
    const [names, mounts] = await Promise.all([this.names(), this.overlayMounts()])
    const volumes = await Promise.all(
      names.map(async (name) => {
        try {
          const [meta, records] = await Promise.all([readMetadata(this.layout.metadata(name), name), readRecords(this.layout, name)])
          return this.toVolume(name, meta, records, mounts.has(this.layout.mountpoint(name)))
        } catch (err) {
          if (err instanceof DotError && err.code === 'not-found') return undefined
          this.logger.warn((err as Error).message)
          return undefined
        }
      }),
    )
    return volumes.filter((v): v is Volume => v !== undefined)
  }

  /** Bytes the volume's changes occupy. Walks the upper layer: for admins, never on a hot path. */
  async changesSize(name: string): Promise<number> {
    validateName(name)
    return diskUsage(this.layout.upper(name))
  }

  async isMounted(name: string): Promise<boolean> {
    return overlayMountedOn(this.layout.mountpoint(name))
  }

  /** Overlay mountpoints with how many overlays are stacked on each. */
  async overlayMounts(): Promise<Map<string, number>> {
    return overlayMountpoints(await readMountinfo())
  }

  // ---- changes: under the volume's lock ----

  async create(name: string, rawOptions: unknown): Promise<Volume> {
    validateName(name)
    const options = parseCreateOptions(rawOptions)
    const meta = await this.createParsed(name, options)
    // What was just written, not read back: a new volume has no records and nothing mounted.
    return this.toVolume(name, meta, new Map(), false)
  }

  private async createParsed(name: string, options: CreateOptions): Promise<Metadata> {
    // Base first: a refused create must leave nothing behind, not even a new root directory.
    await checkBase(options.base, this.root)
    mkdirSync(this.root, {recursive: true, mode: 0o711})
    // No volume lock to take yet: in this process the queue orders creates of one name; across
    // processes the rename into place decides (it fails on the volume another create put there first).
    const meta: Metadata = {base: options.base, volatile: options.volatile, createdAt: new Date()}
    await this.locks.serialize(name, async () => {
      if (lstatSync(this.layout.volume(name), {throwIfNoEntry: false})) throw exists(`volume "${name}" already exists`, {name})
      // Built complete under a scratch name, then renamed into place: a crash leaves a `.tmp-*` that
      // start-up sweeps, never a half-made volume. The scratch directory is locked while it is built
      // (a sweep skips it) and, renamed, is the volume: the lock is the volume's until released.
      const tmp = this.layout.scratch('tmp', name)
      let lock: number | undefined
      try {
        // Synchronous directory calls (µs each, local).
        mkdirSync(tmp, {mode: 0o711})
        lock = this.locks.lockDir(tmp)
        // Held already: a sweep (dot gc in another process) took it between the mkdir and here, and is
        // deleting it. Never build a volume in a directory someone else is deleting.
        if (lock === undefined) throw busy(`creating volume "${name}": a concurrent dot gc took its scratch directory; try again`, {name})
        this.crash('create:after-tmp')
        mkdirSync(path.join(tmp, 'upper'), {mode: 0o755})
        mkdirSync(path.join(tmp, 'activemounts'), {mode: 0o755})
        writeMetadata(path.join(tmp, 'metadata.json'), meta)
        this.crash('create:before-rename')
        renameSync(tmp, this.layout.volume(name))
      } catch (err) {
        await fs.rm(tmp, {recursive: true, force: true}).catch(() => {})
        if (['ENOTEMPTY', 'EEXIST'].includes(errnoCode(err) ?? '')) throw exists(`volume "${name}" already exists`, {name})
        if (err instanceof DotError) throw err
        throw wrap(`creating volume "${name}"`, err)
      } finally {
        if (lock !== undefined) closeSync(lock)
      }
      this.crash('create:after-rename')
      // Durable right after the answer, not before it: the fsyncs (the metadata, the volume directory,
      // the root: 0.5 ms to several ms on this disk) would be most of a create's time. A power cut in
      // between loses a volume that holds no change yet, or leaves one whose metadata reads empty,
      // which is reported, never deleted (DESIGN.md §4); dockerd commits its own record of the volume
      // after our answer too.
      // Its first mount waits for the flush (`mount`): once a container writes into upper/, a power cut
      // must not leave those changes in a volume whose metadata.json reads empty.
      const flushed = this.flusher.flush([this.layout.metadata(name), this.layout.volume(name), this.root])
      this.unflushed.set(name, flushed)
      this.inBackground(
        flushed.finally(() => {
          if (this.unflushed.get(name) === flushed) this.unflushed.delete(name)
        }),
      )
      this.logger.info(`created volume "${name}" on ${options.base}${options.volatile ? ' (volatile)' : ''}`)
    })
    return meta
  }

  /**
   * Removes a volume and its changes. Refused while mount records exist unless `force`, which unmounts
   * (lazily if busy) first. The directory is renamed to `.trash-*` before it is deleted, so a crash
   * mid-delete leaves no half-volume.
   */
  async remove(name: string, options: {force?: boolean} = {}): Promise<void> {
    validateName(name)
    await this.locks.withLock(name, async () => {
      const volumeDir = this.layout.volume(name) // exists: the lock is taken on it
      // Missing or garbage metadata alike: the directory may hold someone's changes we cannot describe,
      // so it goes only when the user insists.
      const readable = await readMetadata(this.layout.metadata(name), name).then(
        () => true,
        () => false,
      )
      if (!readable && !options.force) {
        throw invalid(`volume "${name}" has no readable metadata; inspect ${volumeDir} and use --force to delete it`, {name})
      }
      const records = await readRecords(this.layout, name)
      if (records.size > 0 && !options.force) {
        const ids = [...records.keys()]
        throw inUse(`volume "${name}" is in use (${ids.length} active mount${ids.length === 1 ? '' : 's'}: ${ids.join(', ')}); unmount it first, or force`, {
          name,
          mounts: Object.fromEntries(records),
        })
      }
      // Drop the records before unmounting (rule 1), then make sure nothing is mounted inside the
      // directory we are about to delete: deleting through a live overlay would write whiteouts. The
      // mount-only directories go with the rest, in the background deletion of the trash.
      if (records.size > 0) await fs.rm(this.layout.activeMounts(name), {recursive: true, force: true})
      await this.teardown(name, {detachIfBusy: true, keepDirs: true})
      this.crash('remove:after-unmount')
      const trash = this.layout.scratch('trash', name)
      renameSync(volumeDir, trash) // synchronous: one local rename, µs, against a thread-pool round trip
      this.crash('remove:after-rename')
      // The rename committed the removal. Deleting a large upper can outlast dockerd's 1-minute Remove
      // timeout (PROTOCOL.md §9.8): it runs after the answer; `close` (and gc, after a crash) finishes it.
      this.deleteInBackground(trash)
      this.logger.info(`removed volume "${name}"`)
    })
  }

  /**
   * Mounts the volume for mount ID `id` and returns the mountpoint. All users share one overlay; each ID
   * is counted, so the same ID mounted twice needs two unmounts.
   */
  async mount(name: string, id: string): Promise<string> {
    validateName(name)
    validateMountId(id)
    return this.locks.withLock(name, async () => {
      const meta = await readMetadata(this.layout.metadata(name), name)
      const mountpoint = this.layout.mountpoint(name)
      const ids = await listRecordIds(this.layout, name)
      let mounted = overlayMountedOn(mountpoint)
      if (ids.length > 0 && mounted) {
        const count = await readRecord(this.layout, name, id)
        await (count === 0 ? createRecord(this.layout, name, id) : writeRecord(this.layout, name, id, count + 1)).catch((err) => {
          throw wrap(`recording mount ${id} of volume "${name}"`, err)
        })
        this.logger.debug(`mount "${name}" id ${id}: joined the mounted overlay`)
        return mountpoint
      }
      if (ids.length > 0) {
        // Records without an overlay: it was lost (a reboot, an unmount behind our back). Nobody can be
        // using it, so the records are stale; this is a first mount.
        this.logger.warn(`volume "${name}": dropping ${ids.length} stale mount record(s) of an overlay that is no longer mounted`)
        await fs.rm(this.layout.activeMounts(name), {recursive: true, force: true})
      }
      if (mounted && meta.volatile) {
        // An overlay without records (a failed unmount) cannot be reused by a volatile volume: its
        // changes must be wiped first. Detach it; never stack a second overlay on the same upper.
        await this.teardown(name, {detachIfBusy: true})
        mounted = false
      }
      if (!mounted) {
        // A volatile volume's last changes may still be salvaged until a mount succeeds: the base is
        // checked before they are wiped. Otherwise it is checked only if the mount fails, to say why.
        if (meta.volatile) {
          await this.checkBaseForMount(name, meta.base)
          await this.wipeChanges(name)
        }
        this.crash('mount:after-wipe')
        // A volume created a moment ago reaches the disk before its first use.
        const unflushed = this.unflushed.get(name)
        if (unflushed) {
          this.flusher.hurry()
          await unflushed
        }
        // Synchronous: directories under the root, µs each, where four thread-pool round trips cost more.
        mkdirSync(this.layout.upper(name), {recursive: true, mode: 0o755})
        mkdirSync(this.layout.workdir(name), {recursive: true, mode: 0o700})
        mkdirSync(mountpoint, {recursive: true, mode: 0o755})
        mkdirSync(this.layout.activeMounts(name), {recursive: true, mode: 0o755})
        this.crash('mount:before-mount')
        const mounter = await this.mounter()
        const spec = overlayMount(name, {base: meta.base, upper: this.layout.upper(name), workdir: this.layout.workdir(name), mountpoint})
        try {
          await mounter.mount(spec)
        } catch (err) {
          await this.teardown(name, {detachIfBusy: true}).catch(() => {})
          await this.checkBaseForMount(name, meta.base) // a base gone or replaced says so, not "ENOENT"
          throw new DotError('internal', `mounting volume "${name}": ${(err as Error).message}`, {name}, {cause: err})
        }
        this.crash('mount:after-mount')
        this.logger.debug(`mount "${name}": mounted the overlay`)
      } else {
        this.logger.debug(`mount "${name}": reusing an overlay left mounted without records`)
      }
      try {
        mkdirSync(this.layout.activeMounts(name), {recursive: true, mode: 0o755})
        await createRecord(this.layout, name, id)
      } catch (err) {
        // Without its record the overlay would be garbage; take it down now rather than leave it.
        await this.teardown(name, {detachIfBusy: true}).catch(() => {})
        throw wrap(`recording mount ${id} of volume "${name}"`, err)
      }
      this.crash('mount:after-record')
      return mountpoint
    })
  }

  /**
   * Drops one use of mount ID `id`; the last use of the last ID unmounts the overlay. An ID that is not
   * mounted is a success (dockerd retries unmounts, PROTOCOL.md §9.4).
   */
  async unmount(name: string, id: string): Promise<void> {
    validateName(name)
    validateMountId(id)
    await this.locks.withLock(name, async () => {
      const meta = await readMetadata(this.layout.metadata(name), name)
      const count = await readRecord(this.layout, name, id)
      if (count === 0) {
        this.logger.debug(`unmount "${name}" id ${id}: not mounted under this ID; nothing to do`)
        return
      }
      await writeRecord(this.layout, name, id, count - 1).catch((err) => {
        throw wrap(`unmounting volume "${name}": updating the record of mount ${id}`, err)
      })
      this.crash('unmount:after-record')
      if (count > 1 || (await listRecordIds(this.layout, name)).length > 0) return
      // Busy (a shell or a stray process still inside): a volatile volume's overlay is detached, as its
      // next first mount starts on a fresh upper anyway. A normal volume's stays mounted without records:
      // detached, it would stay alive on the same upper and workdir as the next mount's overlay
      // (PROTOCOL.md §9.16). Left mounted, the next mount reuses it and `dot gc` unmounts it once free.
      // Either way the unmount succeeds (§9.20): nobody uses the volume any more.
      // mountpoint/ and workdir/ stay for the next mount, as Docker's overlay2 keeps a layer's work/
      // (overlayfs empties work/ itself at mount): removing them here and making them again at the
      // next mount cost four inode operations, 0.03-0.8 ms each on this disk, on every container restart.
      try {
        await this.teardown(name, {detachIfBusy: meta.volatile, keepDirs: true})
      } catch (err) {
        if (meta.volatile || !(err instanceof DotError && err.code === 'busy')) throw err
        this.logger.warn(`${err.message}; left mounted with no users (the next mount reuses it, dot gc unmounts it once free)`)
      }
      this.crash('unmount:after-unmount')
    })
  }

  /** Runs `task` holding the volume's lock (for reconcile and gc, which repair a volume in place). */
  withVolumeLock<T>(name: string, task: () => Promise<T>): Promise<T> {
    return this.locks.withLock(validateName(name), task)
  }

  /** One try at the lock of a directory under the root (for reconcile: is a create building it?); see VolumeLocks.lockDir. */
  tryLockDir(dir: string): number | undefined {
    return this.locks.lockDir(dir)
  }

  // ---- internals ----

  /**
   * Unmounts every overlay stacked on the volume's mountpoint. "Not mounted" counts as done; EBUSY is
   * retried, then (with `detachIfBusy`) the overlay is detached. Then `mountpoint/` and `workdir/` are
   * removed, unless `keepDirs` (an unmount: the next mount reuses them; see `unmount`); a detached
   * overlay's workdir is always kept. Caller must hold the volume's lock and have removed the records.
   */
  async teardown(name: string, options: {detachIfBusy: boolean; keepDirs?: boolean}): Promise<void> {
    const mountpoint = this.layout.mountpoint(name)
    let detached = false
    for (let attempt = 0; ; attempt++) {
      // Checked again after each unmount: overlays can be stacked on the mountpoint (rule 16's trap).
      if (!overlayMountedOn(mountpoint)) break
      const mounter = await this.mounter()
      try {
        await mounter.unmount(mountpoint, {detach: detached})
      } catch (err) {
        const code = errnoCode(err)
        // EINVAL: not (or no longer) a mount point; mountinfo is re-read, bounded by the attempt count.
        if ((code === 'EINVAL' || code === 'ENOENT') && attempt <= UNMOUNT_BUSY_RETRIES + 2) continue
        if (code !== 'EBUSY' || attempt > UNMOUNT_BUSY_RETRIES + 2) {
          throw new DotError('busy', `unmounting volume "${name}": ${(err as Error).message}`, {name}, {cause: err})
        }
        if (attempt >= UNMOUNT_BUSY_RETRIES) {
          if (!options.detachIfBusy) throw new DotError('busy', `volume "${name}" is busy: its mountpoint is in use`, {name})
          this.logger.warn(`volume "${name}": mountpoint busy, detaching the overlay lazily`)
          detached = true
        } else {
          await new Promise((resolve) => setTimeout(resolve, 20 * (attempt + 1)))
        }
      }
    }
    if (options.keepDirs && !detached) return
    // rmdir, never rm -r: if anything were still mounted there it fails instead of deleting through it.
    // Synchronous, like the mkdirs of a first mount: small local directories, µs per call.
    try {
      rmdirSync(mountpoint)
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.logger.warn(`volume "${name}": leaving ${mountpoint}: ${(err as Error).message}`)
    }
    // A detached overlay may still be alive in some namespace and use its workdir: keep it then.
    if (!detached) rmSync(this.layout.workdir(name), {recursive: true, force: true})
  }

  private async checkBaseForMount(name: string, base: string): Promise<void> {
    await checkBase(base, this.root).catch((err: Error) => {
      throw invalid(`cannot mount volume "${name}": ${err.message}`, {name, base})
    })
  }

  /** The volatile wipe: the old upper layer goes to trash (renamed, so a crash keeps it sweepable). */
  private async wipeChanges(name: string): Promise<void> {
    const upper = this.layout.upper(name)
    const entries = await fs.readdir(upper).catch(() => undefined)
    if (entries === undefined) return
    // Renamed even when empty: an overlay detached while busy may still be alive on this upper, and
    // overlayfs only warns when a second mount shares upper/work; the fresh run must get its own.
    const trash = this.layout.scratch('trash', `${name}-upper`)
    try {
      await fs.rename(upper, trash)
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return
      throw wrap(`discarding the changes of volatile volume "${name}"`, err)
    }
    await fs.rm(this.layout.workdir(name), {recursive: true, force: true})
    if (entries.length > 0) this.logger.info(`volume "${name}" is volatile: discarded the changes of its previous use`)
    // Deleting a large upper must not hold up the mount; `close` (and gc, after a crash) finishes it.
    this.deleteInBackground(trash)
  }

  private deleteInBackground(trash: string): void {
    this.inBackground(this.deleteTrash(trash))
  }

  /** Work that follows an answer (trash deletion, flushing a new volume); `settled` awaits it. */
  private inBackground(work: Promise<void>): void {
    const tracked = work.finally(() => this.cleanups.delete(tracked))
    this.cleanups.add(tracked)
  }

  private async deleteTrash(trash: string): Promise<void> {
    try {
      await fs.rm(trash, {recursive: true, force: true})
    } catch (err) {
      this.logger.warn(`deleting ${trash}: ${(err as Error).message} (dot gc will retry)`)
    }
  }

  private toVolume(
    name: string,
    meta: {base: string; volatile: boolean; createdAt: Date},
    records: Map<string, number>,
    mounted: boolean,
  ): Volume {
    const volume: Volume = {
      name,
      base: meta.base,
      volatile: meta.volatile,
      createdAt: meta.createdAt,
      mounted,
      mounts: Object.fromEntries([...records].sort(([a], [b]) => a.localeCompare(b))),
      upper: this.layout.upper(name),
    }
    if (mounted) volume.mountpoint = this.layout.mountpoint(name)
    return volume
  }
}

/**
 * The real path of `p` even when it does not exist yet (a root created by the first create): the
 * nearest existing ancestor resolved, the rest appended. Otherwise a root below a symlink would never
 * match /proc/self/mountinfo, every mount would look lost, and overlays would be stacked.
 */
async function realpathOfNearest(p: string): Promise<string> {
  try {
    return await fs.realpath(p)
  } catch (err) {
    const parent = path.dirname(p)
    if (errnoCode(err) !== 'ENOENT' || parent === p) return p
    return path.join(await realpathOfNearest(parent), path.basename(p))
  }
}

/** Names `n` for which `<root>/<n>/mountpoint` is among `mountpoints`. */
function* mountedVolumeNames(root: string, mountpoints: Iterable<string>): Iterable<string> {
  const prefix = root.endsWith('/') ? root : `${root}/`
  for (const mountpoint of mountpoints) {
    if (!mountpoint.startsWith(prefix) || !mountpoint.endsWith('/mountpoint')) continue
    const name = mountpoint.slice(prefix.length, -'/mountpoint'.length)
    if (!name.includes('/')) yield name
  }
}
