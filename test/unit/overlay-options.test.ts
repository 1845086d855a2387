import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {escapeOverlayPath, overlayMount, readOnlyOverlayMount} from '../../src/core/overlay-options.js'

describe('overlay options', () => {
  test('plain paths are passed as they are', () => {
    const m = overlayMount('v1', {base: '/srv/data', upper: '/r/v1/upper', workdir: '/r/v1/workdir', mountpoint: '/r/v1/mountpoint'})
    assert.deepEqual(m, {
      source: 'docker-on-top_v1',
      target: '/r/v1/mountpoint',
      fstype: 'overlay',
      data: 'lowerdir=/srv/data,upperdir=/r/v1/upper,workdir=/r/v1/workdir',
    })
  })

  test('comma, colon and backslash are escaped with a backslash', () => {
    assert.equal(escapeOverlayPath('/a,b:c\\d'), '/a\\,b\\:c\\\\d')
    assert.equal(escapeOverlayPath('/with space=eq'), '/with space=eq')
  })

  test('read-only overlays list lower layers topmost first, separated by unescaped colons', () => {
    assert.equal(readOnlyOverlayMount('s', ['/up:per', '/base'], '/t').data, 'lowerdir=/up\\:per:/base')
  })
})
