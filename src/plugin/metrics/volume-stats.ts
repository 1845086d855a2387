import {setTimeout as sleep} from 'node:timers/promises'

import {readRecords} from '../../core/disk/records.js'
import type {VolumeStore} from '../../core/volume/store.js'

export interface VolumeStats {
  volumes: number
  mounted: number
  /** Mount records (`activemounts/<id>`) over all volumes. */
  mountRecords: number
  /** Bytes of each volume's upper layer, as of the last refresh. */
  changesBytes: Map<string, number>
  /** When the last refresh finished (ms since the epoch); 0 before the first. */
  refreshedAt: number
  /** How long the last refresh took, in seconds. */
  refreshSeconds: number
}

export interface VolumeStatsOptions {
  /** Pause between the end of one refresh and the start of the next. */
  intervalMs: number
  /** Pause between two volumes' walks, so a big root never takes the event loop for long. */
  pauseMs?: number
  onError?: (err: Error) => void
}

/**
 * The volume figures of the metrics, gathered in the background and served from a cache, so a scrape
 * never walks an upper layer and no request waits for one. One refresh at a time, one volume at a
 * time, with a pause between volumes and between refreshes: its cost is bounded by the interval
 * however often Prometheus scrapes.
 */
export class VolumeStatsCache {
  current: VolumeStats = {volumes: 0, mounted: 0, mountRecords: 0, changesBytes: new Map(), refreshedAt: 0, refreshSeconds: 0}
  private stopped = false
  private loop: Promise<void> | undefined
  private readonly abort = new AbortController()

  constructor(
    private readonly store: VolumeStore,
    private readonly options: VolumeStatsOptions,
  ) {}

  start(): void {
    this.loop ??= this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.abort.abort()
    await this.loop
  }

  /** One full pass over the root; replaces `current` only when complete. */
  async refresh(): Promise<void> {
    const started = performance.now()
    const brief = await this.store.listBrief()
    const changesBytes = new Map<string, number>()
    let mountRecords = 0
    for (const {name} of brief) {
      if (this.stopped) return
      try {
        mountRecords += (await readRecords(this.store.layout, name)).size
        changesBytes.set(name, await this.store.changesSize(name))
      } catch {
        // Removed mid-pass, or unreadable (`dot gc` reports it): no figure for it this time.
      }
      if (this.options.pauseMs) await sleep(this.options.pauseMs, undefined, {signal: this.abort.signal}).catch(() => {})
    }
    const mounted = brief.filter((v) => v.mountpoint !== undefined).length
    this.current = {volumes: brief.length, mounted, mountRecords, changesBytes, refreshedAt: Date.now(), refreshSeconds: (performance.now() - started) / 1000}
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.refresh().catch((err: Error) => this.options.onError?.(err))
      await sleep(this.options.intervalMs, undefined, {signal: this.abort.signal}).catch(() => {})
    }
  }
}
