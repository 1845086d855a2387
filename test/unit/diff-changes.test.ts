import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {computeChanges, type OverlayAttrReader} from '../../src/core/diff/changes.js'

/**
 * The merge rules of computeChanges on plain directories (no root needed). Whiteouts (mknod) and real
 * trusted.overlay.* xattrs need root: test/integration/diff-layers.test.ts covers them on real layers.
 * Here the overlay marks come from a table, so the rules for opaque and redirected directories can be
 * checked case by case.
 */
describe('computeChanges', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-diff-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  let n = 0
  function layers(base: Record<string, string | null>, upper: Record<string, string | null>): {base: string; upper: string} {
    const root = path.join(dir, String(n++))
    const make = (top: string, files: Record<string, string | null>) => {
      fs.mkdirSync(top, {recursive: true})
      for (const [p, content] of Object.entries(files)) {
        if (content === null) fs.mkdirSync(path.join(top, p), {recursive: true})
        else {
          fs.mkdirSync(path.dirname(path.join(top, p)), {recursive: true})
          fs.writeFileSync(path.join(top, p), content)
        }
      }
      return top
    }
    return {base: make(path.join(root, 'base'), base), upper: make(path.join(root, 'upper'), upper)}
  }
  /**
   * Gives a base directory and its upper copy the same mode and times, as overlayfs's copy-up does
   * (whole seconds: JavaScript times cannot carry every nanosecond of a real mtime).
   */
  function copyUpDir(l: {base: string; upper: string}, p: string) {
    for (const top of [l.base, l.upper]) {
      fs.chmodSync(path.join(top, p), 0o755)
      fs.utimesSync(path.join(top, p), 1_000_000_000, 1_000_000_000)
    }
  }
  const marks = (opaque: string[] = [], redirects: Record<string, string> = {}): OverlayAttrReader => ({
    isOpaque: (p) => opaque.some((o) => p.endsWith(o)),
    redirect: (p) => Object.entries(redirects).find(([dirName]) => p.endsWith(dirName))?.[1],
  })
  const kinds = async (l: {base: string; upper: string}, reader = marks()) =>
    Object.fromEntries((await computeChanges(l.upper, l.base, reader)).changes.map((c) => [c.path, c.kind]))

  test('an empty or missing upper layer changes nothing', async () => {
    const l = layers({a: 'a', 'd/b': 'b'}, {})
    assert.deepEqual(await kinds(l), {})
    assert.deepEqual((await computeChanges(path.join(l.upper, 'missing'), l.base, marks())).changes, [])
  })

  test('new files and directories are A, files the base has are C', async () => {
    const l = layers({a: 'a'}, {a: 'a2', new: 'n', 'newdir/x': 'x'})
    assert.deepEqual(await kinds(l), {'/a': 'C', '/new': 'A', '/newdir': 'A', '/newdir/x': 'A'})
  })

  test('a directory copied up only to hold a change is a parent, not a change; a chmod makes it C', async () => {
    const l = layers({'d/e/f': 'f'}, {'d/e/f': 'f2'})
    copyUpDir(l, 'd')
    copyUpDir(l, 'd/e')
    const result = await computeChanges(l.upper, l.base, marks())
    assert.deepEqual(result.changes, [{path: '/d/e/f', kind: 'C'}])
    assert.deepEqual(result.parents, ['/d', '/d/e'])
    fs.chmodSync(path.join(l.upper, 'd'), 0o700)
    assert.deepEqual(await kinds(l), {'/d': 'C', '/d/e/f': 'C'})
  })

  test('an opaque directory hides the base content: C, and base entries it does not provide again are D', async () => {
    const l = layers({'d/old': 'o', 'd/same': 's', 'd/sub/deep': 'x'}, {'d/same': 's2', 'd/new': 'n'})
    assert.deepEqual(await kinds(l, marks(['/d'])), {'/d': 'C', '/d/new': 'A', '/d/old': 'D', '/d/same': 'C', '/d/sub': 'D', '/d/sub/deep': 'D'})
  })

  test('a file over a base directory deletes what the directory held; a directory over a base file is C', async () => {
    const l = layers({'d/x': 'x', 'd/y/z': 'z', f: 'f'}, {d: 'now a file', 'f/inside': 'i'})
    assert.deepEqual(await kinds(l), {'/d': 'C', '/d/x': 'D', '/d/y': 'D', '/d/y/z': 'D', '/f': 'C', '/f/inside': 'A'})
  })

  test('a redirected directory shows its origin under a new path (absolute and relative redirects)', async () => {
    const abs = layers({'from/a': 'a', 'from/sub/b': 'b', keep: 'k'}, {'to/extra': 'e'})
    assert.deepEqual(await kinds(abs, marks([], {'/to': '/from'})), {'/to': 'A', '/to/a': 'A', '/to/extra': 'A', '/to/sub': 'A', '/to/sub/b': 'A'})
    const rel = layers({'p/from/a': 'a'}, {'p/to/extra': 'e'})
    copyUpDir(rel, 'p')
    assert.deepEqual(await kinds(rel, marks([], {'/to': 'from'})), {'/p/to': 'A', '/p/to/a': 'A', '/p/to/extra': 'A'})
  })

  test('paths are sorted in byte order, so a directory comes right before its content', async () => {
    const l = layers({}, {'a/b': '1', 'a-b': '2', 'a.c': '3', B: '4'})
    const paths = (await computeChanges(l.upper, l.base, marks())).changes.map((c) => c.path)
    assert.deepEqual(paths, ['/B', '/a', '/a-b', '/a.c', '/a/b'])
  })
})
