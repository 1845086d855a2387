import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {DotError} from '../../src/core/errors.js'
import {decodeMetadata, encodeMetadata, readMetadata, writeMetadata} from '../../src/core/disk/metadata.js'

const noFallback = () => assert.fail('the fallback time must not be used when CreatedAt is present')

describe('metadata.json', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-metadata-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  test('ours round-trips, with the Go key names plus CreatedAt', () => {
    const meta = {base: '/srv/a,b:c\\d e', volatile: true, createdAt: new Date('2024-05-06T07:08:09.123Z')}
    const text = encodeMetadata(meta)
    assert.deepEqual(JSON.parse(text), {BaseDirPath: '/srv/a,b:c\\d e', Volatile: true, CreatedAt: '2024-05-06T07:08:09.123Z'})
    assert.deepEqual(decodeMetadata(text, noFallback), meta)
  })

  test('a Go-original file (only BaseDirPath and Volatile) decodes; CreatedAt falls back', () => {
    const fallback = new Date('2020-01-02T03:04:05Z')
    assert.deepEqual(decodeMetadata('{"BaseDirPath":"/srv/data","Volatile":false}', () => fallback), {
      base: '/srv/data',
      volatile: false,
      createdAt: fallback,
    })
    assert.equal(decodeMetadata('{"BaseDirPath":"/x","Volatile":true}', () => fallback).volatile, true)
  })

  test('a Go-original file read from disk gets the file time as CreatedAt', async () => {
    const file = path.join(dir, 'go-metadata.json')
    const before = Date.now()
    fs.writeFileSync(file, '{"BaseDirPath":"/srv/data","Volatile":true}')
    const stat = fs.statSync(file)
    const meta = await readMetadata(file, 'govol')
    assert.equal(meta.base, '/srv/data')
    assert.equal(meta.volatile, true)
    const expected = stat.birthtimeMs > 0 ? stat.birthtime : stat.ctime
    assert.equal(meta.createdAt.getTime(), expected.getTime())
    assert.ok(Math.abs(meta.createdAt.getTime() - before) < 5_000, 'file time is about now')
  })

  test('an unparseable CreatedAt falls back rather than making the volume unreadable', () => {
    const fallback = new Date('2021-01-01T00:00:00Z')
    assert.equal(decodeMetadata('{"BaseDirPath":"/x","Volatile":false,"CreatedAt":"yesterday"}', () => fallback).createdAt, fallback)
    assert.equal(decodeMetadata('{"BaseDirPath":"/x","Volatile":false,"CreatedAt":""}', () => fallback).createdAt, fallback)
  })

  test('a missing Volatile means false; unknown keys are ignored', () => {
    const meta = decodeMetadata('{"BaseDirPath":"/x","Future":1,"CreatedAt":"2024-01-01T00:00:00Z"}', noFallback)
    assert.equal(meta.volatile, false)
  })

  test('garbage gives a clear error, never a silently wrong volume', () => {
    const cases: [string, RegExp][] = [
      ['', /not valid JSON/],
      ['{"BaseDirPath": "/x"', /not valid JSON/],
      ['null', /not a JSON object/],
      ['"text"', /not a JSON object/],
      ['[]', /no BaseDirPath/],
      ['{}', /no BaseDirPath/],
      ['{"BaseDirPath": ""}', /no BaseDirPath/],
      ['{"BaseDirPath": 5}', /no BaseDirPath/],
      ['{"BaseDirPath": "/x", "Volatile": "true"}', /Volatile is not a boolean/],
    ]
    for (const [text, message] of cases) {
      assert.throws(() => decodeMetadata(text, () => new Date()), (err: unknown) => err instanceof DotError && message.test(err.message), text)
    }
  })

  test('reading a garbage file names the volume and the file', async () => {
    const file = path.join(dir, 'garbage.json')
    fs.writeFileSync(file, 'not json at all')
    assert.throws(() => readMetadata(file, 'broken'), (err: unknown) => {
      assert.ok(err instanceof DotError)
      assert.equal(err.code, 'internal')
      assert.match(err.message, /volume "broken" has unreadable metadata/)
      assert.ok(err.message.includes(file))
      return true
    })
  })

  test('a missing file means the volume does not exist', async () => {
    assert.throws(() => readMetadata(path.join(dir, 'nope', 'metadata.json'), 'nope'), (err: unknown) => {
      assert.ok(err instanceof DotError)
      assert.equal(err.code, 'not-found')
      assert.match(err.message, /no such volume: nope/)
      return true
    })
  })

  test('writeMetadata writes mode 0644 in place and never replaces an existing file', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'write-'))
    const file = path.join(sub, 'metadata.json')
    const meta = {base: '/b', volatile: false, createdAt: new Date('2025-02-03T04:05:06.000Z')}
    const umask = process.umask(0)
    try {
      writeMetadata(file, meta)
    } finally {
      process.umask(umask)
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o644)
    assert.deepEqual(fs.readdirSync(sub), ['metadata.json'])
    assert.deepEqual(await readMetadata(file, 'v'), meta)
    assert.throws(() => writeMetadata(file, {...meta, base: '/other'}), {code: 'EEXIST'})
    assert.deepEqual(await readMetadata(file, 'v'), meta)
  })
})
