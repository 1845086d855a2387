import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {escapeOverlayPath, overlayMount, readOnlyOverlayMount} from '../../src/core/kernel/overlay-options.js'

describe('overlay options', () => {
  test('plain paths are passed as they are', () => {
    const m = overlayMount('v1', {base: '/srv/data', upper: '/r/v1/upper', workdir: '/r/v1/workdir', mountpoint: '/r/v1/mountpoint'})
    assert.deepEqual(m, {
      source: 'docker-on-top_v1',
      target: '/r/v1/mountpoint',
      fstype: 'overlay',
      data: 'lowerdir=/srv/data,upperdir=/r/v1/upper,workdir=/r/v1/workdir',
      layers: {lowers: [{path: '/srv/data'}], upper: '/r/v1/upper', workdir: '/r/v1/workdir'},
    })
  })

  test('an opened base: its /proc fd path in the option string, its fd and real path as the lowest layer for the new mount API', () => {
    const base = {real: '/srv/da,ta', lowerdir: '/proc/12/fd/7', fd: 7}
    const m = overlayMount('v', {base, layers: ['/r/v/layers/l-2', '/r/v/layers/l-1'], upper: '/r/v/upper', workdir: '/r/v/workdir', mountpoint: '/r/v/mountpoint'})
    assert.equal(m.data, 'lowerdir=/r/v/layers/l-2:/r/v/layers/l-1:/proc/12/fd/7,upperdir=/r/v/upper,workdir=/r/v/workdir')
    assert.deepEqual(m.layers, {
      lowers: [{path: '/r/v/layers/l-2'}, {path: '/r/v/layers/l-1'}, {path: '/srv/da,ta', fd: 7}],
      upper: '/r/v/upper',
      workdir: '/r/v/workdir',
    }, 'unescaped: fsconfig takes each path whole')
  })

  test('read-only overlays carry no layers: they are mounted from their option string', () => {
    assert.equal(readOnlyOverlayMount('s', ['/a', '/b'], '/t').layers, undefined)
  })

  test('comma, colon and backslash are escaped with a backslash', () => {
    assert.equal(escapeOverlayPath('/a,b:c\\d'), '/a\\,b\\:c\\\\d')
    assert.equal(escapeOverlayPath('/with space=eq'), '/with space=eq')
  })

  test('every layer path is escaped, not only the base; the source carries the volume name', () => {
    const m = overlayMount('v', {base: '/b,1', upper: '/r:x/v/upper', workdir: '/r:x/v/workdir', mountpoint: '/r:x/v/mountpoint'})
    assert.equal(m.data, 'lowerdir=/b\\,1,upperdir=/r\\:x/v/upper,workdir=/r\\:x/v/workdir')
    assert.equal(m.target, '/r:x/v/mountpoint', 'the target is a syscall argument, never escaped')
    assert.equal(m.source, 'docker-on-top_v')
  })

  test('escaping is reversible: unescaping as overlayfs does gives the path back', () => {
    // fs/overlayfs/params.c ovl_unescape: "\x" -> "x".
    const unescape = (s: string) => s.replace(/\\(.)/g, '$1')
    for (const p of ['/a,b', '/a:b', '/a\\b', '/end\\', '/\\,:', '/tab\there', '/ü ñ']) {
      assert.equal(unescape(escapeOverlayPath(p)), p)
    }
  })

  test('read-only overlays list lower layers topmost first, separated by unescaped colons', () => {
    assert.equal(readOnlyOverlayMount('s', ['/up:per', '/base'], '/t').data, 'lowerdir=/up\\:per:/base')
  })

  test('snapshot layers sit between upper and base, newest first, each escaped; none gives the Go options exactly', () => {
    const paths = {base: '/srv/data', upper: '/r/v/upper', workdir: '/r/v/workdir', mountpoint: '/r/v/mountpoint'}
    assert.equal(overlayMount('v', {...paths, layers: []}).data, overlayMount('v', paths).data)
    assert.equal(overlayMount('v', {...paths, layers: ['/r/v/layers/l-2', '/r/v/layers/l:1']}).data, 'lowerdir=/r/v/layers/l-2:/r/v/layers/l\\:1:/srv/data,upperdir=/r/v/upper,workdir=/r/v/workdir')
  })
})
