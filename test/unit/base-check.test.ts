import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {checkBase, isInside} from '../../src/core/volume/base-check.js'
import {DotError} from '../../src/core/errors.js'

describe('isInside', () => {
  test('a path is inside itself and its ancestors', () => {
    assert.equal(isInside('/a', '/a'), true)
    assert.equal(isInside('/a/b', '/a'), true)
    assert.equal(isInside('/a/b/c', '/a'), true)
    assert.equal(isInside('/anything', '/'), true)
  })

  test('siblings sharing a prefix, parents and unrelated paths are not inside', () => {
    assert.equal(isInside('/ab', '/a'), false)
    assert.equal(isInside('/a', '/a/b'), false)
    assert.equal(isInside('/x/y', '/a'), false)
    assert.equal(isInside('/', '/a'), false)
  })

  test('a child whose name starts with ".." is still inside', () => {
    assert.equal(isInside('/a/..b', '/a'), true)
    assert.equal(isInside('/a/...', '/a'), true)
  })
})

describe('checkBase (no root needed)', () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-base-')))
  const root = path.join(dir, 'root')
  fs.mkdirSync(root)
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  const rejects = (base: string, message: RegExp) =>
    assert.rejects(checkBase(base, root), (err: unknown) => {
      assert.ok(err instanceof DotError)
      assert.equal(err.code, 'invalid')
      assert.match(err.message, message)
      return true
    })

  test('an existing directory outside the root is accepted, also through a symlink', async () => {
    const base = path.join(dir, 'base')
    fs.mkdirSync(base)
    await checkBase(base, root)
    fs.symlinkSync(base, path.join(dir, 'link'))
    await checkBase(path.join(dir, 'link'), root)
  })

  test('a missing base is refused', () => rejects(path.join(dir, 'missing'), /does not exist; create the directory first/))

  test('a file is refused, and so is a path through a file', async () => {
    const file = path.join(dir, 'file')
    fs.writeFileSync(file, 'x')
    await rejects(file, /is not a directory$/)
    await rejects(path.join(file, 'sub'), /is not a directory \(a part of its path is a file\)/)
  })

  test('a base inside the root, or the root itself, is refused', async () => {
    fs.mkdirSync(path.join(root, 'inner'))
    await rejects(path.join(root, 'inner'), /is inside the docker-on-top root/)
    await rejects(root, /is inside the docker-on-top root/)
  })

  test('a symlink that leads into the root is refused too', async () => {
    fs.symlinkSync(path.join(root, 'inner'), path.join(dir, 'sneaky'))
    await rejects(path.join(dir, 'sneaky'), /is inside the docker-on-top root/)
  })

  test('a base that contains the root is refused', () => rejects(dir, /contains the docker-on-top root/))
})
