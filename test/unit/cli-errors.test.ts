import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {Args, Flags, Parser} from '@oclif/core'

import {errorDocument} from '../../src/cli/base-command.js'
import {exitCodeFor} from '../../src/cli/exit-codes.js'
import {forEachTarget, targetNames, worstError} from '../../src/cli/multi-target.js'
import {toDotError} from '../../src/cli/to-dot-error.js'
import {busy, DotError, inUse, invalid, notFound} from '../../src/core/errors.js'

/** Runs oclif's real parser, as a command would, and returns what it throws. */
async function parseError(argv: string[]): Promise<Error> {
  try {
    await Parser.parse(argv, {
      args: {name: Args.string({description: 'volume name', required: true})},
      flags: {base: Flags.string({required: true}), id: Flags.string({options: ['a', 'b']})},
      strict: true,
    })
  } catch (err) {
    return err as Error
  }
  throw new Error(`parsing ${argv.join(' ')} did not fail`)
}

describe('CLI errors: oclif parse errors become one-line invalid-input errors (exit 2)', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown flag', ['v', '--base', '/x', '--bogus'], /^Nonexistent flag: --bogus; see --help$/],
    ['missing argument', ['--base', '/x'], /^missing required argument NAME \(volume name\); see --help$/],
    ['missing required flag', ['v'], /^Missing required flag base; see --help$/],
    ['unexpected argument', ['v', 'w', '--base', '/x'], /^Unexpected argument: w; see --help$/],
    ['flag value not among the options', ['v', '--base', '/x', '--id', 'c'], /^Expected --id=c to be one of: a, b; see --help$/],
  ]
  for (const [what, argv, message] of cases) {
    test(what, async () => {
      const error = toDotError(await parseError(argv))
      assert.equal(error.code, 'invalid')
      assert.equal(exitCodeFor(error.code), 2)
      assert.match(error.message, message)
      assert.ok(!error.message.includes('\n'))
      assert.ok(!error.message.includes('\u001B'), 'no escape codes in the message')
    })
  }
})

describe('CLI errors: the --json error document', () => {
  test('carries code, message, exit code and the details of the core error', () => {
    const error = inUse('volume "v" is in use', {name: 'v', mounts: {manual: 1}})
    assert.deepEqual(errorDocument(error, exitCodeFor(error.code)), {
      error: {code: 'in-use', message: 'volume "v" is in use', exitCode: 5, name: 'v', mounts: {manual: 1}},
    })
  })

  test('an unexpected error is internal (exit 1) and keeps only its first line', () => {
    const error = toDotError(new Error('something broke\n    at frame (file.js:1:1)'))
    assert.deepEqual(errorDocument(error, exitCodeFor(error.code)), {error: {code: 'internal', message: 'something broke', exitCode: 1}})
  })
})

describe('CLI errors: commands over several names', () => {
  test('every target is processed and the exit code is the most severe failure', async () => {
    const seen: string[] = []
    const failures: Record<string, DotError> = {b: notFound('no such volume: b'), d: inUse('volume "d" is in use'), e: invalid('bad name')}
    const results = await forEachTarget(['a', 'b', 'c', 'd', 'e'], async (name) => {
      seen.push(name)
      if (failures[name]) throw failures[name]
      return name
    })
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e'])
    assert.deepEqual(results.done, ['a', 'c'])
    assert.deepEqual(
      results.errors.map((e) => [e.name, e.code, e.exitCode]),
      [
        ['b', 'not-found', 3],
        ['d', 'in-use', 5],
        ['e', 'invalid', 2],
      ],
    )
    assert.equal(results.exitCode, 5)
    assert.equal(worstError(results.errors)?.name, 'd')
  })

  test('all succeeding exits 0 with no worst error; a repeated name is processed once', async () => {
    const seen: string[] = []
    const results = await forEachTarget(['a', 'a', 'b'], async (name) => seen.push(name))
    assert.deepEqual(seen, ['a', 'b'])
    assert.equal(results.exitCode, 0)
    assert.equal(worstError(results.errors), undefined)
  })

  test('busy (7) outranks in use (5); a plain Error counts as internal (1)', async () => {
    const results = await forEachTarget(['x', 'y', 'z'], async (name) => {
      throw name === 'x' ? new Error('boom') : name === 'y' ? busy('busy') : inUse('in use')
    })
    assert.deepEqual(results.errors.map((e) => e.exitCode), [1, 7, 5])
    assert.equal(results.exitCode, 7)
  })

  test('a leftover flag among the names is refused before any target is touched', () => {
    assert.deepEqual(targetNames(['a', 'b']), ['a', 'b'])
    assert.throws(() => targetNames(['a', '--forse']), (err: DotError) => err.code === 'invalid' && /Nonexistent flag: --forse/.test(err.message))
  })
})
