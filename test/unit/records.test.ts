import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {DotError} from '../../src/core/errors.js'
import {Layout} from '../../src/core/disk/layout.js'
import {decodeRecord, encodeRecord, listRecordIds, readRecord, readRecords, validateMountId, writeRecord} from '../../src/core/disk/records.js'

describe('mount records', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-records-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  test('encode writes the Go original format', () => {
    assert.deepEqual(JSON.parse(encodeRecord(3)), {UsageCount: 3})
  })

  test('the Go original format decodes, with or without spaces and newline', () => {
    assert.equal(decodeRecord('{"UsageCount": 2}'), 2)
    assert.equal(decodeRecord('{"UsageCount":7}\n'), 7)
    assert.equal(decodeRecord(encodeRecord(41)), 41)
  })

  test('a torn, empty or odd record counts as 1 (in use), never 0', () => {
    for (const text of ['', '{"UsageCo', 'null', '[]', '{}', '{"UsageCount": 0}', '{"UsageCount": -3}', '{"UsageCount": 1.5}', '{"UsageCount": "2"}']) {
      assert.equal(decodeRecord(text), 1, JSON.stringify(text))
    }
  })

  test('mount IDs: Docker-style hex IDs and hand-made ones pass; path-like ones do not', () => {
    for (const id of ['a', 'dot-cli', '3f5e9a0b1c2d4e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f']) assert.equal(validateMountId(id), id)
    for (const id of ['', '../x', 'a/b', '.x', '-x', 'a b', 'x'.repeat(201), 5]) {
      assert.throws(() => validateMountId(id), (err: unknown) => err instanceof DotError && err.code === 'invalid', String(id))
    }
  })

  test('write, count up and down, and remove at 0 (on disk, like the Go original reads them)', async () => {
    const layout = new Layout(dir)
    fs.mkdirSync(layout.activeMounts('v'), {recursive: true})
    assert.equal(await readRecord(layout, 'v', 'id1'), 0)
    await writeRecord(layout, 'v', 'id1', 1)
    await writeRecord(layout, 'v', 'id1', 2)
    await writeRecord(layout, 'v', 'id2', 1)
    assert.deepEqual(JSON.parse(fs.readFileSync(layout.activeMount('v', 'id1'), 'utf8')), {UsageCount: 2})
    assert.deepEqual(await readRecords(layout, 'v'), new Map([['id1', 2], ['id2', 1]]))
    await writeRecord(layout, 'v', 'id1', 0)
    assert.deepEqual((await listRecordIds(layout, 'v')).sort(), ['id2'])
    // A Go-written record and a torn one are read as they are.
    fs.writeFileSync(layout.activeMount('v', 'go'), '{"UsageCount": 4}')
    fs.writeFileSync(layout.activeMount('v', 'torn'), '')
    // A leftover temp file of an interrupted atomic write is not a record.
    fs.writeFileSync(path.join(layout.activeMounts('v'), '.id2.123.abc'), '{"UsageCount": 9}')
    assert.deepEqual(await readRecords(layout, 'v'), new Map([['id2', 1], ['go', 4], ['torn', 1]]))
    assert.deepEqual((await listRecordIds(layout, 'v')).sort(), ['go', 'id2', 'torn'])
  })

  test('a volume without activemounts/ has no records', async () => {
    const layout = new Layout(dir)
    assert.deepEqual(await readRecords(layout, 'none'), new Map())
    assert.deepEqual(await listRecordIds(layout, 'none'), [])
  })

  test('a hostile mount ID is not echoed back in full', () => {
    for (const id of ['x'.repeat(600_000), {a: 'y'.repeat(600_000)}]) {
      assert.throws(() => validateMountId(id), (err: unknown) => {
        assert.ok(err instanceof DotError && err.code === 'invalid')
        assert.ok(err.message.length < 400, `${err.message.length} characters`)
        assert.match(err.message, /\(600\d{3} characters\)/)
        return true
      })
    }
  })
})
