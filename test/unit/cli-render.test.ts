import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {colourEnabled} from '../../src/cli/colour.js'
import {createOptionsFromFlags} from '../../src/cli/create-options.js'
import {formatBytes} from '../../src/cli/human-size.js'
import {MANUAL_MOUNT_ID} from '../../src/cli/mount-id.js'
import {fitWidths, shortenEnd, shortenMiddle} from '../../src/cli/fit-columns.js'
import {formatCreated, formatUsers, formatUsersShort, renderVolumeTable, TABLE_HEADERS, volumeRow} from '../../src/cli/volume-table.js'
import type {VolumeReport} from '../../src/cli/volume-report.js'
import type {DotError} from '../../src/core/errors.js'

const ESC = '\u001B['

const mounted: VolumeReport = {
  name: 'data',
  base: '/srv/dataset',
  volatile: false,
  createdAt: '2026-11-22T17:58:32.123Z',
  state: 'mounted',
  mountpoint: '/var/lib/docker-on-top/data/mountpoint',
  mounts: {manual: 1, c0ffee: 2},
  upper: '/var/lib/docker-on-top/data/upper',
  snapshots: 2,
  changesBytes: 5 * 1024 * 1024,
  wipeAtNextMount: false,
}
const idle: VolumeReport = {...mounted, name: 'scratch', base: '/srv/src', volatile: true, state: 'idle', mounts: {}, snapshots: 0, changesBytes: 0, wipeAtNextMount: false}
delete idle.mountpoint

describe('CLI rendering: sizes', () => {
  test('binary units, one decimal below ten', () => {
    const cases: [number, string][] = [
      [0, '0 B'],
      [1, '1 B'],
      [1023, '1023 B'],
      [1024, '1.0 KiB'],
      [4096, '4.0 KiB'],
      [1536, '1.5 KiB'],
      [10 * 1024, '10 KiB'],
      [1024 * 1024 - 1, '1.0 MiB'],
      [5 * 1024 ** 3, '5.0 GiB'],
      [3 * 1024 ** 4 + 1, '3.0 TiB'],
      [2048 * 1024 ** 5, '2048 PiB'],
    ]
    for (const [bytes, text] of cases) assert.equal(formatBytes(bytes), text, `${bytes}`)
  })

  test('nonsense is shown as "?", never as NaN', () => {
    assert.equal(formatBytes(Number.NaN), '?')
    assert.equal(formatBytes(-1), '?')
  })
})

describe('CLI rendering: the ls table', () => {
  test('users list mount IDs with a count when mounted more than once; "-" when unused', () => {
    assert.equal(formatUsers({manual: 1, c0ffee: 2}), 'manual, c0ffee×2')
    assert.equal(formatUsers({}), '-')
  })

  test('created is UTC to the minute', () => {
    assert.equal(formatCreated('2026-11-22T17:58:32.123Z'), '2026-11-22 17:58 UTC')
    assert.equal(formatCreated('not a date'), '?')
  })

  test('rows hold every column in header order', () => {
    assert.deepEqual([...TABLE_HEADERS], ['NAME', 'BASE', 'VOLATILE', 'STATE', 'USERS', 'SNAPSHOTS', 'CHANGES', 'CREATED'])
    assert.deepEqual(volumeRow(mounted), ['data', '/srv/dataset', 'no', 'mounted', 'manual, c0ffee×2', '2', '5.0 MiB', '2026-11-22 17:58 UTC'])
    assert.deepEqual(volumeRow(idle), ['scratch', '/srv/src', 'yes', 'idle', '-', '0', '0 B', '2026-11-22 17:58 UTC'])
  })

  test('without colour: plain aligned columns, no escape codes, no trailing spaces', async () => {
    const text = await renderVolumeTable([mounted, idle], {colour: false})
    assert.ok(!text.includes(ESC), text)
    const lines = text.split('\n')
    assert.equal(lines.length, 3)
    assert.deepEqual(lines[0].split(/\s{2,}/), [...TABLE_HEADERS])
    assert.deepEqual(lines[1].split(/\s{2,}/), volumeRow(mounted))
    assert.deepEqual(lines[2].split(/\s{2,}/), volumeRow(idle))
    for (const line of lines) assert.equal(line, line.trimEnd())
    // Columns are aligned: BASE starts at the same offset on every line.
    assert.equal(lines[1].indexOf('/srv/dataset'), lines[0].indexOf('BASE'))
    assert.equal(lines[2].indexOf('/srv/src'), lines[0].indexOf('BASE'))
  })

  test('with colour: the same cells, with escape codes', async () => {
    const text = await renderVolumeTable([mounted, idle], {colour: true})
    assert.ok(text.includes(ESC))
    // eslint-disable-next-line no-control-regex
    assert.equal(text.replace(/\u001B\[[0-9;]*m/g, ''), await renderVolumeTable([mounted, idle], {colour: false}))
  })

  test('an empty store renders the header only', async () => {
    assert.deepEqual((await renderVolumeTable([], {colour: false})).split('\n').length, 1)
  })
})

describe('CLI rendering: when to colour', () => {
  test('only on a terminal, never with NO_COLOR set to a non-empty value', () => {
    assert.equal(colourEnabled({isTTY: true}, {}), true)
    assert.equal(colourEnabled({isTTY: false}, {}), false)
    assert.equal(colourEnabled({}, {}), false)
    assert.equal(colourEnabled({isTTY: true}, {NO_COLOR: '1'}), false)
    assert.equal(colourEnabled({isTTY: true}, {NO_COLOR: 'false'}), false, 'any non-empty value disables colour')
    assert.equal(colourEnabled({isTTY: true}, {NO_COLOR: ''}), true, 'an empty NO_COLOR is unset (no-color.org)')
  })
})

describe('CLI: create options from flags', () => {
  test('--base/--volatile and -o key=value make the map docker volume create -o would send', () => {
    assert.deepEqual(createOptionsFromFlags({base: '/srv/x', volatile: false}), {base: '/srv/x'})
    assert.deepEqual(createOptionsFromFlags({base: '/srv/x', volatile: true}), {base: '/srv/x', volatile: 'true'})
    assert.deepEqual(createOptionsFromFlags({opt: ['base=/srv/a=b', 'volatile=YES']}), {base: '/srv/a=b', volatile: 'YES'})
    assert.deepEqual(createOptionsFromFlags({opt: ['colour=red']}), {colour: 'red'}, 'unknown keys pass through: the core refuses them')
    assert.deepEqual(createOptionsFromFlags({opt: ['volatile=']}), {volatile: ''})
  })

  const refused: [string, Parameters<typeof createOptionsFromFlags>[0], RegExp][] = [
    ['no "="', {opt: ['base']}, /option "base" is not of the form key=value/],
    ['empty key', {opt: ['=x']}, /option "=x" is not of the form key=value/],
    ['a key twice', {opt: ['base=/a', 'base=/b']}, /option "base" is given more than once/],
    ['base twice', {base: '/a', opt: ['base=/a']}, /base is given both as --base and as -o base=/],
    ['volatile twice', {volatile: true, opt: ['volatile=no']}, /volatile is given both as --volatile and as -o volatile=/],
  ]
  for (const [what, flags, message] of refused) {
    test(`refused: ${what}`, () => {
      assert.throws(() => createOptionsFromFlags(flags), (err: DotError) => err.code === 'invalid' && message.test(err.message))
    })
  }

  test('the default mount ID for mounts made by hand', () => {
    assert.equal(MANUAL_MOUNT_ID, 'manual')
  })
})

describe('CLI rendering: fitting a terminal', () => {
  test('shortenMiddle keeps both ends; shortenEnd the start; both leave short text alone', () => {
    assert.equal(shortenMiddle('/srv/very/long/path/to/data', 12), '/srv/v…/data')
    assert.equal(shortenMiddle('/srv/x', 12), '/srv/x')
    assert.equal([...shortenMiddle('a'.repeat(100), 10)].length, 10)
    assert.equal(shortenEnd('1: c0ffee, manual', 9), '1: c0ffe…')
  })

  test('fitWidths shrinks the columns in order, each down to its minimum, and no further', () => {
    const specs = [{natural: 20, min: 8}, {natural: 30, min: 10}, {natural: 7, min: 7}]
    assert.deepEqual(fitWidths(specs, 100, [1, 0]), [20, 30, 7], 'fits already')
    assert.deepEqual(fitWidths(specs, 50, [1, 0]), [20, 19, 7], 'the first in order gives first')
    assert.deepEqual(fitWidths(specs, 30, [1, 0]), [9, 10, 7])
    assert.deepEqual(fitWidths(specs, 10, [1, 0]), [8, 10, 7], 'never below the minimums')
    assert.deepEqual(fitWidths(specs, 40, [[1, 20], 0, 1]), [9, 20, 7], 'a step may stop above the minimum')
  })

  test('on a terminal USERS is a count and 12-character IDs; in a pipe the IDs in full', async () => {
    const id = 'f'.repeat(64)
    const many: VolumeReport = {...mounted, mounts: {[id]: 1, manual: 2}}
    assert.equal(formatUsersShort(many.mounts), `2: ${'f'.repeat(12)}, manual×2`)
    const narrow = await renderVolumeTable([many], {colour: false, columns: 100})
    assert.ok(!narrow.includes(id) && narrow.includes(`2: ${'f'.repeat(12)}`), narrow)
    for (const line of narrow.split('\n')) assert.ok(line.length <= 100, line)
    assert.ok((await renderVolumeTable([many], {colour: false})).includes(id))
    assert.ok((await renderVolumeTable([many], {colour: false, columns: 100, noTrunc: true})).includes(id))
  })

  test('a volatile volume whose changes go at its next first mount is marked, with a legend', async () => {
    const pending: VolumeReport = {...idle, changesBytes: 4096, wipeAtNextMount: true}
    const text = await renderVolumeTable([pending], {colour: false})
    assert.equal(volumeRow(pending)[2], 'yes*')
    assert.match(text.split('\n')[2], /^\* volatile: its changes are wiped at its next first mount/)
    assert.equal((await renderVolumeTable([idle], {colour: false})).split('\n').length, 2, 'no legend without a mark')
  })
})
