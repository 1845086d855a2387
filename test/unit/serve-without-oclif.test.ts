import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {parseServeArgs} from '../../src/cli/serve-without-oclif.js'
import {DEFAULT_ROOT} from '../../src/core/volume/store.js'

/** `dot serve` skips oclif only for command lines it understands exactly; the rest goes to oclif. */
describe('dot serve without oclif: which command lines take the fast path', () => {
  test('the service command line, both flag forms, and the defaults', () => {
    assert.deepEqual(parseServeArgs([], {}), {name: 'docker-on-top', root: DEFAULT_ROOT, logLevel: 'info'})
    assert.deepEqual(parseServeArgs(['--name', 'dot-test', '--socket=/tmp/s.sock', '--root', '/tmp/r', '--log-level=debug'], {}), {
      name: 'dot-test',
      root: '/tmp/r',
      socket: '/tmp/s.sock',
      logLevel: 'debug',
    })
  })

  test('environment defaults, flags first', () => {
    const env = {DOT_ROOT: '/env/root', DOT_SOCKET: '/env/s.sock', DOT_LOG_LEVEL: 'warn'}
    assert.deepEqual(parseServeArgs([], env), {name: 'docker-on-top', root: '/env/root', socket: '/env/s.sock', logLevel: 'warn'})
    assert.equal(parseServeArgs(['--root', '/flag'], env)?.root, '/flag')
  })

  test('anything else is left to oclif', () => {
    for (const args of [
      ['--help'],
      ['-h'],
      ['--nme', 'x'],
      ['--name'],
      ['--name', '--root', '/r'],
      ['--name', 'a/b'],
      ['--name', '.hidden'],
      ['--log-level', 'verbose'],
      ['--root', '/a', '--root', '/b'],
      ['--root='],
      ['extra'],
    ]) {
      assert.equal(parseServeArgs(args, {}), undefined, args.join(' '))
    }
    assert.equal(parseServeArgs([], {DOT_LOG_LEVEL: 'loud'}), undefined)
    assert.equal(parseServeArgs([], {DOT_ROOT: ''}), undefined)
  })
})
