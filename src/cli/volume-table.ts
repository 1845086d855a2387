import {formatBytes} from './human-size.js'
import type {VolumeReport} from './volume-report.js'

export const TABLE_HEADERS = ['NAME', 'BASE', 'VOLATILE', 'STATE', 'USERS', 'CHANGES', 'CREATED'] as const

/** The cells of one row, uncoloured: what the table shows and what the tests read. */
export function volumeRow(volume: VolumeReport): string[] {
  return [
    volume.name,
    volume.base,
    volume.volatile ? 'yes' : 'no',
    volume.state,
    formatUsers(volume.mounts),
    formatBytes(volume.changesBytes),
    formatCreated(volume.createdAt),
  ]
}

/** Mount IDs, with a count when an ID is mounted more than once: "manual, c0ffee×2"; "-" when unused. */
export function formatUsers(mounts: Record<string, number>): string {
  const ids = Object.entries(mounts).map(([id, count]) => (count > 1 ? `${id}×${count}` : id))
  return ids.length === 0 ? '-' : ids.join(', ')
}

/** UTC to the minute: sortable, the same on every host, short enough for a table. */
export function formatCreated(iso: string): string {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? '?' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/**
 * Renders `dot ls`. chalk and cli-table3 are imported here, on demand, so that `dot ls -q`,
 * `dot --version` and every other command start without loading them.
 */
export async function renderVolumeTable(volumes: VolumeReport[], options: {colour: boolean}): Promise<string> {
  const [{Chalk}, {default: Table}] = await Promise.all([import('chalk'), import('cli-table3')])
  const chalk = new Chalk({level: options.colour ? 1 : 0})
  const table = new Table({
    head: TABLE_HEADERS.map((h) => chalk.bold(h)),
    // cli-table3 colours headers and borders itself by default (even into a pipe): all colour is ours.
    style: {head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2},
    chars: borderless(),
  })
  for (const volume of volumes) {
    const [name, base, volatile, state, users, changes, created] = volumeRow(volume)
    table.push([
      chalk.bold(name),
      base,
      volume.volatile ? chalk.yellow(volatile) : volatile,
      volume.state === 'mounted' ? chalk.green(state) : chalk.dim(state),
      users,
      changes,
      created,
    ])
  }
  // Trailing padding would make every line end in spaces; scripts diffing the output should not see them.
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
}

/** A plain, docker-ls-like table: columns separated by spaces, no box drawing. */
function borderless(): Record<string, string> {
  const names = ['top', 'top-mid', 'top-left', 'top-right', 'bottom', 'bottom-mid', 'bottom-left', 'bottom-right', 'left', 'left-mid', 'mid', 'mid-mid', 'right', 'right-mid', 'middle']
  return Object.fromEntries(names.map((n) => [n, '']))
}
