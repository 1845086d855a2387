import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {DotError} from '../../src/core/errors.js'
import {ALLOWED_OPTIONS, parseCreateOptions, parseVolatile} from '../../src/core/volume/options.js'

function refused(opts: unknown, message: RegExp): DotError {
  let caught: unknown
  try {
    parseCreateOptions(opts)
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof DotError, `expected a DotError for ${JSON.stringify(opts)}, got ${String(caught)}`)
  assert.equal(caught.code, 'invalid')
  assert.match(caught.message, message)
  return caught
}

describe('create options', () => {
  test('base alone gives a normal (non-volatile) volume', () => {
    assert.deepEqual(parseCreateOptions({base: '/srv/data'}), {base: '/srv/data', volatile: false})
  })

  test('base is required, also when Opts is null or absent (dockerd sends null)', () => {
    refused({}, /missing required option "base".*absolute path/)
    refused(null, /missing required option "base"/)
    refused(undefined, /missing required option "base"/)
    refused({volatile: 'true'}, /missing required option "base"/)
  })

  test('base must be absolute, non-empty and free of NUL bytes', () => {
    refused({base: 'srv/data'}, /base "srv\/data" is not an absolute path.*e\.g\. \/srv\/data/)
    refused({base: './data'}, /not an absolute path/)
    refused({base: '~/data'}, /not an absolute path/)
    refused({base: ''}, /option "base" is empty/)
    refused({base: '/srv/da\0ta'}, /NUL byte/)
  })

  test('base is tidied (// /./ trailing slash) but keeps its spelling otherwise', () => {
    assert.equal(parseCreateOptions({base: '/srv//data/./x/'}).base, '/srv/data/x')
    assert.equal(parseCreateOptions({base: '/'}).base, '/')
    assert.equal(parseCreateOptions({base: '/a,b:c\\d e'}).base, '/a,b:c\\d e')
  })

  test('volatile accepts true/false/yes/no in any case; default false', () => {
    for (const word of ['true', 'TRUE', 'True', 'yes', 'YES', 'Yes', 'tRuE']) {
      assert.equal(parseCreateOptions({base: '/b', volatile: word}).volatile, true, word)
    }
    for (const word of ['false', 'FALSE', 'False', 'no', 'NO', 'No']) {
      assert.equal(parseCreateOptions({base: '/b', volatile: word}).volatile, false, word)
    }
    assert.equal(parseVolatile(undefined), false)
  })

  test('any other volatile value is refused, listing the allowed values', () => {
    for (const word of ['maybe', '', '1', '0', 'on', 'off', 'y', 'n', 'truee']) {
      const err = refused({base: '/b', volatile: word}, /invalid value .* for option "volatile"; allowed: true, false, yes, no \(any case\)/)
      assert.equal(err.details.option, 'volatile')
    }
  })

  test('an unknown option is refused by name, listing the allowed ones', () => {
    const err = refused({base: '/b', quota: '10G'}, /unknown option "quota"; allowed options are: base, volatile/)
    assert.deepEqual(err.details, {option: 'quota', allowed: [...ALLOWED_OPTIONS]})
    refused({base: '/b', Base: '/c'}, /unknown option "Base"/)
    refused({base: '/b', o: 'bind'}, /unknown option "o"/)
    refused(JSON.parse('{"base": "/b", "__proto__": "x"}'), /unknown option "__proto__"/)
  })

  test('values must be strings (the protocol only sends strings)', () => {
    refused({base: 42}, /option "base" must be a string, got number/)
    refused({base: '/b', volatile: true}, /option "volatile" must be a string, got boolean/)
    refused({base: null}, /option "base" must be a string, got null/)
    refused({base: ['/b']}, /option "base" must be a string, got object/)
  })

  test('Opts that are not an object map are refused', () => {
    for (const opts of ['base=/b', 42, true, ['/b']]) refused(opts, /options must be an object/)
  })
})
