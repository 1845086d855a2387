import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {nearestCommand} from '../../src/cli/nearest-command.js'
import {parseJson, runDot} from '../helpers/run-dot.js'

describe('CLI: an unknown command is bad input like any other', () => {
  test('a human gets one line on stderr naming the nearest command and the commands, and exit code 2', async () => {
    const result = await runDot(['lss'])
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    const lines = result.stderr.trim().split('\n')
    assert.equal(lines.length, 1, result.stderr)
    assert.match(lines[0], /^dot: unknown command "lss"; did you mean "ls"\? commands are: .*\bcreate\b.*\bls\b/)
  })

  test('a word near no command suggests nothing', async () => {
    const result = await runDot(['frobnicate'])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /^dot: unknown command "frobnicate"; commands are: /)
  })

  test('--json gets one document with the suggestion', async () => {
    const result = await runDot(['unmoun', '--json'])
    assert.equal(result.code, 2)
    assert.equal(result.stderr, '')
    const doc = parseJson(result) as {error: {code: string; exitCode: number; suggestion: string}}
    assert.equal(doc.error.code, 'invalid')
    assert.equal(doc.error.exitCode, 2)
    assert.equal(doc.error.suggestion, 'unmount')
  })

  test('nearestCommand: the edit distance @oclif/plugin-not-found uses, within half the word', () => {
    const commands = ['create', 'diff', 'gc', 'inspect', 'ls', 'mount', 'recover', 'rm', 'serve', 'unmount']
    assert.equal(nearestCommand('lss', commands), 'ls')
    assert.equal(nearestCommand('inspcet', commands), 'inspect')
    assert.equal(nearestCommand('recovr', commands), 'recover')
    assert.equal(nearestCommand('zzzzzz', commands), undefined)
  })

  test('an extra word after a command is named as an unexpected argument; --json gets one document', async () => {
    const result = await runDot(['ls', 'extra', '--json'])
    assert.equal(result.code, 2)
    assert.equal(result.stderr, '')
    const doc = parseJson(result) as {error: {code: string; exitCode: number; message: string}}
    assert.equal(doc.error.code, 'invalid')
    assert.equal(doc.error.exitCode, 2)
    assert.match(doc.error.message, /unexpected argument "extra" for dot ls/)
  })
})
