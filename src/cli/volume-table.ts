import {type ColumnSpec, fitWidths, shortenEnd, shortenMiddle} from './fit-columns.js'
import {formatBytes} from './human-size.js'
import {borderlessTable} from './plain-table.js'
import type {VolumeReport} from './volume-report.js'

export const TABLE_HEADERS = ['NAME', 'BASE', 'VOLATILE', 'STATE', 'USERS', 'SNAPSHOTS', 'CHANGES', 'CREATED'] as const
/** docker's short container IDs. */
const SHORT_ID = 12
/** The VOLATILE cell of a volume whose changes go at its next first mount, and the legend for it. */
const WIPE_MARK = 'yes*'
export const WIPE_LEGEND = '* volatile: its changes are wiped at its next first mount (dot recover NAME --to DIR saves them first)'

export interface TableOptions {
  colour: boolean
  /** The terminal's width to fit; undefined (a pipe) or with noTrunc: every value in full. */
  columns?: number
  noTrunc?: boolean
}

const wipePending = (volume: VolumeReport) => volume.wipeAtNextMount

/** The cells of one row, uncoloured and in full: what a pipe gets and what the tests read. */
export function volumeRow(volume: VolumeReport, options: {short?: boolean} = {}): string[] {
  return [
    volume.name,
    volume.base,
    wipePending(volume) ? WIPE_MARK : volume.volatile ? 'yes' : 'no',
    volume.state,
    options.short ? formatUsersShort(volume.mounts) : formatUsers(volume.mounts),
    String(volume.snapshots),
    volume.sizeLimit === undefined ? formatBytes(volume.changesBytes) : `${formatBytes(volume.limitUsedBytes ?? 0)}/${formatBytes(volume.sizeLimit)}`,
    formatCreated(volume.createdAt),
  ]
}

/** Mount IDs, with a count when an ID is mounted more than once: "manual, c0ffee×2"; "-" when unused. */
export function formatUsers(mounts: Record<string, number>): string {
  const ids = Object.entries(mounts).map(([id, count]) => (count > 1 ? `${id}×${count}` : id))
  return ids.length === 0 ? '-' : ids.join(', ')
}

/** For a terminal: how many IDs, then each cut to docker's 12 characters: "2: 4f2a1b3c5d6e, manual×2". */
export function formatUsersShort(mounts: Record<string, number>): string {
  const ids = Object.entries(mounts).map(([id, count]) => `${id.slice(0, SHORT_ID)}${count > 1 ? `×${count}` : ''}`)
  return ids.length === 0 ? '-' : `${ids.length}: ${ids.join(', ')}`
}

/** UTC to the minute: sortable, the same on every host, short enough for a table. */
export function formatCreated(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? '?' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/**
 * Renders `dot ls`. On a terminal (`columns`) the table fits its width: BASE is shortened in the
 * middle first, then USERS at its end, SNAPSHOTS is headed SNAPS, then NAME in the middle; the other
 * columns are short already.
 * chalk and cli-table3 are imported here, on demand, so `dot ls -q` and other commands never load them.
 */
export async function renderVolumeTable(volumes: VolumeReport[], options: TableOptions): Promise<string> {
  const [{Chalk}, Table] = await Promise.all([import('chalk'), borderlessTable()])
  const chalk = new Chalk({level: options.colour ? 1 : 0})
  const fit = options.columns !== undefined && !options.noTrunc
  let rows = volumes.map((volume) => volumeRow(volume, {short: fit}))
  let headers: string[] = [...TABLE_HEADERS]
  if (fit) ({rows, headers} = fitRows(rows, options.columns!))
  const table = new Table(headers.map((h) => chalk.bold(h)))
  for (const [i, volume] of volumes.entries()) {
    const [name, base, volatile, state, users, snapshots, changes, created] = rows[i]
    table.push([
      chalk.bold(name),
      base,
      volume.volatile ? chalk.yellow(volatile) : volatile,
      volume.state === 'mounted' ? chalk.green(state) : chalk.dim(state),
      users,
      snapshots,
      changes,
      created,
    ])
  }
  const legend = volumes.some(wipePending) ? `\n${fit ? shortenEnd(WIPE_LEGEND, options.columns!) : WIPE_LEGEND}` : ''
  return table.render() + legend
}

/** CREATED as a bare date, the last thing a narrow terminal cuts. */
const DATE_ONLY = 10
/** The SNAPSHOTS header on a terminal too narrow for it. */
const SNAPSHOTS_SHORT = 'SNAPS'

/**
 * The cells cut so that a line fits `columns`: BASE (middle), USERS down to one short ID, SNAPSHOTS
 * headed "SNAPS", CREATED without " UTC", NAME (middle), CREATED to its date, then USERS to its count.
 */
function fitRows(rows: string[][], columns: number): {rows: string[][]; headers: string[]} {
  const specs: ColumnSpec[] = TABLE_HEADERS.map((header, i) => {
    const natural = Math.max(header.length, ...rows.map((row) => [...row[i]].length))
    const min = {NAME: 8, BASE: 10, USERS: 7, SNAPSHOTS: SNAPSHOTS_SHORT.length, CREATED: DATE_ONLY}[header as string] ?? natural
    return {natural, min: Math.min(min, natural)}
  })
  const [NAME, BASE, USERS, SNAPSHOTS, CREATED] = [0, 1, 4, 5, 7]
  const widths = fitWidths(specs, columns, [BASE, [USERS, 3 + SHORT_ID + 1], SNAPSHOTS, [CREATED, 16], NAME, CREATED, USERS])
  const headers = TABLE_HEADERS.map((header, i) => (i === SNAPSHOTS && widths[i] < header.length ? SNAPSHOTS_SHORT : header))
  const cut = rows.map((row) =>
    row.map((cell, i) => {
      if (i === BASE || i === NAME) return shortenMiddle(cell, widths[i])
      if (i === USERS) return shortenEnd(cell, widths[i])
      if (i === CREATED) return cell.slice(0, widths[i]).trimEnd()
      return cell
    }),
  )
  return {rows: cut, headers}
}
