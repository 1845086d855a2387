import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from 'prom-client'

import type {Finding} from '../../core/repair/reconcile.js'
import type {VolumeStore} from '../../core/volume/store.js'
import type {RequestObserver} from '../request-observer.js'
import {ROUTES} from '../routes.js'
import {VolumeStatsCache} from './volume-stats.js'

/** Request durations of a volume plugin: List and Get take microseconds, a first Mount tens of ms. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120]

/**
 * The Prometheus metrics of `dot serve` (names documented in the README). Loaded only with
 * `--metrics`: prom-client stays out of the plugin's start-up otherwise.
 */
export class PluginMetrics {
  readonly registry = new Registry()
  readonly stats: VolumeStatsCache
  private readonly requests: Counter<'endpoint' | 'outcome'>
  private readonly durations: Histogram<'endpoint'>
  private readonly repairs: Counter<'status'>

  constructor(store: VolumeStore, options: {refreshMs: number; onError?: (err: Error) => void}) {
    const registers = [this.registry]
    this.stats = new VolumeStatsCache(store, {intervalMs: options.refreshMs, pauseMs: 1, onError: options.onError})
    collectDefaultMetrics({register: this.registry, prefix: 'dot_'})
    this.requests = new Counter({name: 'dot_requests_total', help: 'Plugin requests by endpoint and outcome (ok, refused, error, client-gone)', labelNames: ['endpoint', 'outcome'], registers})
    this.durations = new Histogram({name: 'dot_request_duration_seconds', help: 'Time from a request arriving to its answer, by endpoint', labelNames: ['endpoint'], buckets: DURATION_BUCKETS, registers})
    this.repairs = new Counter({name: 'dot_startup_repairs_total', help: 'Findings of the start-up reconcile, by status (repaired, failed, reported)', labelNames: ['status'], registers})
    const live = async () => {
      const brief = await store.listBrief()
      return {volumes: brief.length, mounted: brief.filter((v) => v.mountpoint !== undefined).length}
    }
    new Gauge({name: 'dot_volumes', help: 'Volumes in the root', registers, async collect() {
      this.set((await live()).volumes)
    }})
    new Gauge({name: 'dot_volumes_mounted', help: 'Volumes whose overlay is mounted', registers, async collect() {
      this.set((await live()).mounted)
    }})
    const stats = this.stats
    new Gauge({name: 'dot_mount_records', help: 'Active mount records (activemounts/<id>) over all volumes, as of the last background refresh', registers, collect() {
      this.set(stats.current.mountRecords)
    }})
    new Gauge({name: 'dot_volume_changes_bytes', help: "Disk space of each volume's changes (its upper layer), as of the last background refresh", labelNames: ['volume'], registers, collect() {
      this.reset()
      for (const [volume, bytes] of stats.current.changesBytes) this.set({volume}, bytes)
    }})
    new Gauge({name: 'dot_volume_stats_age_seconds', help: 'Seconds since the background refresh of mount records and changes sizes last finished (-1 before the first)', registers, collect() {
      this.set(stats.current.refreshedAt === 0 ? -1 : (Date.now() - stats.current.refreshedAt) / 1000)
    }})
    new Gauge({name: 'dot_volume_stats_refresh_seconds', help: 'How long the last background refresh took', registers, collect() {
      this.set(stats.current.refreshSeconds)
    }})
    for (const status of ['repaired', 'failed', 'reported']) this.repairs.inc({status}, 0)
  }

  /** The request path's one call (see request-observer.ts); unknown paths share one label. */
  readonly observe: RequestObserver = (endpoint, outcome, seconds) => {
    const label = Object.hasOwn(ROUTES, endpoint) ? endpoint.slice(1) : 'unknown'
    this.requests.inc({endpoint: label, outcome})
    this.durations.observe({endpoint: label}, seconds)
  }

  countRepairs(findings: Finding[]): void {
    for (const finding of findings) this.repairs.inc({status: finding.status ?? (finding.repaired ? 'repaired' : 'reported')})
  }
}
