import fs from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'

import {errnoCode, invalid} from '../../core/errors.js'
import {refusePseudoFilesystem} from '../../core/kernel/pseudo-fs.js'
import type {Logger} from '../../core/logger.js'
import type {VolumeStore} from '../../core/volume/store.js'
import {answers} from '../socket-file.js'
import {describeAddress, type MetricsAddress, parseMetricsAddress} from './metrics-address.js'
import {PluginMetrics} from './metrics.js'

/** How often mount records and changes sizes are refreshed (DOT_METRICS_REFRESH_SECONDS overrides). */
const DEFAULT_REFRESH_SECONDS = 60

export interface MetricsEndpoint {
  metrics: PluginMetrics
  address: string
  close(): Promise<void>
}

/**
 * `dot serve --metrics ADDR`: GET /metrics in Prometheus text format on its own listener, apart from
 * the plugin socket (dockerd never sees it). Any other path answers 404.
 */
export async function startMetrics(text: string, store: VolumeStore, logger: Logger): Promise<MetricsEndpoint> {
  const address = parseMetricsAddress(text)
  const refreshSeconds = Number(process.env.DOT_METRICS_REFRESH_SECONDS ?? DEFAULT_REFRESH_SECONDS)
  if (!(refreshSeconds > 0)) throw invalid(`DOT_METRICS_REFRESH_SECONDS must be a positive number of seconds, got ${JSON.stringify(process.env.DOT_METRICS_REFRESH_SECONDS)}`)
  const metrics = new PluginMetrics(store, {refreshMs: refreshSeconds * 1000, onError: (err) => logger.warn(`metrics: refreshing volume figures: ${err.message}`)})
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, {'Content-Type': 'text/plain'}).end('not found: the metrics are at GET /metrics\n')
      return
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, {'Content-Type': metrics.registry.contentType}).end(body),
      (err: Error) => {
        logger.error(`metrics: ${err.message}`)
        res.writeHead(500, {'Content-Type': 'text/plain'}).end(`collecting metrics failed: ${err.message}\n`)
      },
    )
  })
  await listen(server, address)
  metrics.stats.start()
  const shown = describeAddress(address)
  logger.info(`metrics on http://${address.kind === 'unix' ? `unix:${shown}:` : shown}/metrics`)
  return {
    metrics,
    address: shown,
    async close() {
      await metrics.stats.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (address.kind === 'unix') await fs.rm(address.path, {force: true})
    },
  }
}

async function listen(server: http.Server, address: MetricsAddress): Promise<void> {
  if (address.kind === 'unix') await clearStaleSocket(address.path)
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(errnoCode(err) === 'EADDRINUSE' ? invalid(`--metrics ${describeAddress(address)} is already in use`) : err))
    if (address.kind === 'unix') server.listen({path: address.path}, resolve)
    else server.listen({host: address.host, port: address.port}, resolve)
  })
}

/** A socket left by a crash is removed; a live one or any other file is refused. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  // No socket can be made on /proc, /sys and their kind; said so, not as a puzzling EACCES.
  refusePseudoFilesystem(path.dirname(socketPath), '--metrics: the directory')
  const stat = await fs.lstat(socketPath).catch(() => undefined)
  if (!stat) return
  if (!stat.isSocket()) throw invalid(`--metrics ${socketPath} exists and is not a socket; refusing to replace it`)
  if (await answers(socketPath)) throw invalid(`--metrics ${socketPath}: another server is listening there`)
  await fs.rm(socketPath, {force: true})
}
