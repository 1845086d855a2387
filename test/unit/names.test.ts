import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {DotError} from '../../src/core/errors.js'
import {NAME_MAX_LENGTH, validateName} from '../../src/core/disk/names.js'

/** Asserts that `name` is refused as invalid input, with a message matching `message`. */
function refused(name: unknown, message: RegExp): void {
  assert.throws(
    () => validateName(name),
    (err: unknown) => {
      assert.ok(err instanceof DotError, `expected a DotError, got ${String(err)}`)
      assert.equal(err.code, 'invalid')
      assert.match(err.message, message)
      return true
    },
  )
}

describe('volume names', () => {
  test('names of the Go original contract are accepted as they are', () => {
    for (const name of ['a', 'Z', '0', 'v1', 'my-vol', 'my_vol', 'my.vol', 'A0_.-', '9lives', 'x'.repeat(NAME_MAX_LENGTH)]) {
      assert.equal(validateName(name), name)
    }
  })

  test('a path-like name is refused, and a "/" gets the hint that the host path goes in base', () => {
    refused('../x', /contains "\/".*base/)
    refused('a/b', /contains "\/".*base option \(base=\/path\/to\/dir\)/)
    refused('/srv/data', /contains "\/"/)
    refused('..', /starts with a letter or digit/)
    refused('.', /starts with a letter or digit/)
  })

  test('an empty name is refused, saying what a name looks like', () => {
    refused('', /empty.*\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\*/)
  })

  test('a name cannot start with ".", "-" or "_" (dot-entries of the root are scratch; -x looks like a flag)', () => {
    refused('.hidden', /invalid volume name "\.hidden": a name starts with a letter or digit/)
    refused('-x', /invalid volume name "-x"/)
    refused('_x', /invalid volume name "_x"/)
    refused('.tmp-a-123', /invalid volume name/)
  })

  test('an over-long name is refused with its length and the limit', () => {
    refused('a'.repeat(300), /300 characters long; at most 200/)
    refused('a'.repeat(NAME_MAX_LENGTH + 1), new RegExp(`${NAME_MAX_LENGTH + 1} characters`))
  })

  test('unicode, spaces and other characters are refused', () => {
    for (const name of ['café', 'тест', 'vol😀', 'my vol', ' v', 'v ', 'a\tb', 'a\nb', 'a\0b', 'a:b', 'a,b', 'a\\b', 'a*', '$HOME']) {
      refused(name, /invalid volume name .*letters, digits, "_", "\." and "-"/)
    }
  })

  test('a non-string is refused with its type', () => {
    refused(undefined, /must be a string, got undefined/)
    refused(42, /must be a string, got number/)
    refused(null, /must be a string, got object/)
  })

  test('the refused name travels in the error details for --json', () => {
    try {
      validateName('a/b')
      assert.fail('accepted a/b')
    } catch (err) {
      assert.ok(err instanceof DotError)
      assert.deepEqual(err.details, {name: 'a/b'})
    }
  })

  test('a hostile megabyte is not echoed back: the message quotes its start and its length', () => {
    for (const name of ['a/'.repeat(500_000), `x/${'y'.repeat(300)}`]) {
      assert.throws(() => validateName(name), (err: unknown) => {
        assert.ok(err instanceof DotError)
        assert.ok(err.message.length < 400, `${err.message.length} characters: ${err.message.slice(0, 120)}...`)
        assert.match(err.message, /\.\.\. \(\d+ characters\)/)
        return true
      })
    }
  })
})
