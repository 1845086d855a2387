import path from 'node:path'

import {invalid} from '../../core/errors.js'

/** Where `dot serve --metrics` listens: a TCP host and port, or a unix socket. */
export type MetricsAddress = {kind: 'tcp'; host: string; port: number} | {kind: 'unix'; path: string}

/**
 * Parses `--metrics ADDR`: `HOST:PORT` (`127.0.0.1:9323`, `[::1]:9323`, `:9323` for every interface)
 * or a unix socket path (anything with a "/" and no port: `/run/docker-on-top/metrics.sock`).
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  if (text.includes('/')) return {kind: 'unix', path: path.resolve(text)}
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text)
  const port = match ? Number(match[3]) : NaN
  if (!match || port < 1 || port > 65535) {
    throw invalid(`invalid --metrics address ${JSON.stringify(text)}: give HOST:PORT (e.g. 127.0.0.1:9323, [::1]:9323) or a unix socket path (e.g. /run/docker-on-top/metrics.sock)`, {
      metrics: text,
    })
  }
  return {kind: 'tcp', host: match[1] ?? (match[2] || '0.0.0.0'), port}
}

export function describeAddress(address: MetricsAddress): string {
  return address.kind === 'unix' ? address.path : `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`
}
