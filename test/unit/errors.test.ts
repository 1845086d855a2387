import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {EXIT_CODES, exitCodeFor} from '../../src/cli/exit-codes.js'
import {toDotError} from '../../src/cli/to-dot-error.js'
import {busy, DotError, type ErrorCode, errnoCode, exists, inUse, invalid, isDotError, notFound, unsupported, wrap} from '../../src/core/errors.js'

describe('errors', () => {
  test('each helper makes a DotError with its code, message and details', () => {
    const cases: [DotError, ErrorCode][] = [
      [invalid('m', {a: 1}), 'invalid'],
      [notFound('m', {a: 1}), 'not-found'],
      [exists('m', {a: 1}), 'exists'],
      [inUse('m', {a: 1}), 'in-use'],
      [busy('m', {a: 1}), 'busy'],
      [unsupported('m', {a: 1}), 'unsupported'],
    ]
    for (const [err, code] of cases) {
      assert.ok(isDotError(err))
      assert.equal(err.code, code)
      assert.equal(err.message, 'm')
      assert.deepEqual(err.details, {a: 1})
      assert.equal(err.name, 'DotError')
    }
    assert.deepEqual(invalid('no details').details, {})
  })

  test('errnoCode reads Node system errors only', () => {
    assert.equal(errnoCode(Object.assign(new Error('x'), {code: 'ENOENT'})), 'ENOENT')
    assert.equal(errnoCode(new Error('x')), undefined)
    assert.equal(errnoCode('ENOENT'), undefined)
    assert.equal(errnoCode(null), undefined)
    assert.equal(errnoCode({code: 5}), undefined)
  })

  test('wrap keeps DotErrors and turns anything else into internal with context and cause', () => {
    const original = notFound('no such volume: v')
    assert.equal(wrap('mounting "v"', original), original)
    const cause = Object.assign(new Error('EACCES: permission denied'), {code: 'EACCES'})
    const wrapped = wrap('mounting "v"', cause)
    assert.equal(wrapped.code, 'internal')
    assert.equal(wrapped.message, 'mounting "v": EACCES: permission denied')
    assert.equal(wrapped.cause, cause)
    assert.equal(wrap('x', 'plain').message, 'x: plain')
  })
})

describe('error code to exit code', () => {
  test('the documented exit codes', () => {
    assert.deepEqual(EXIT_CODES, {internal: 1, invalid: 2, 'not-found': 3, exists: 4, 'in-use': 5, unsupported: 6, busy: 7})
    assert.equal(exitCodeFor('in-use'), 5)
  })

  test('exit codes are distinct and never 0', () => {
    const codes = Object.values(EXIT_CODES)
    assert.equal(new Set(codes).size, codes.length)
    assert.ok(codes.every((c) => c > 0))
  })

  test('toDotError keeps core errors, classifies parse errors as invalid, the rest as internal', () => {
    const core = inUse('busy volume')
    assert.equal(toDotError(core), core)
    const parse = Object.assign(new Error('Nonexistent flag: --bogus\nSee more help with --help'), {oclif: {exit: 2}})
    const asInvalid = toDotError(parse)
    assert.equal(asInvalid.code, 'invalid')
    assert.match(asInvalid.message, /^Nonexistent flag: --bogus/)
    assert.ok(!asInvalid.message.includes('\n'), 'one line, not the help text')
    assert.equal(toDotError(new Error('kaboom')).code, 'internal')
    assert.equal(toDotError('a string').message, 'a string')
    const denied = () => Object.assign(new Error('EACCES: permission denied, mkdir /var/lib/docker-on-top'), {code: 'EACCES'})
    const eacces = toDotError(denied(), 1000)
    assert.equal(eacces.code, 'invalid')
    assert.equal(exitCodeFor(eacces.code), 2)
    assert.match(eacces.message, /mkdir \/var\/lib\/docker-on-top: this command needs root; run it with sudo$/)
    // Wrapped by the core with its context, the same.
    const wrapped = toDotError(wrap('creating volume "v"', Object.assign(new Error('EPERM: operation not permitted, mount'), {code: 'EPERM'})), 1000)
    assert.equal(wrapped.code, 'invalid')
    assert.match(wrapped.message, /^creating volume "v": EPERM.*needs root/)
    // As root, a refusal is the system's: internal, and doctor is named.
    const asRoot = toDotError(denied(), 0)
    assert.equal(asRoot.code, 'internal')
    assert.match(asRoot.message, /although running as root/)
  })
})
