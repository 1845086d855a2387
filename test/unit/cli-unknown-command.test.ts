import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {parseJson, runDot} from '../helpers/run-dot.js'

describe('CLI: an unknown command is bad input like any other', () => {
  test('a human gets one line on stderr naming the commands, and exit code 2', async () => {
    const result = await runDot(['nosuch'])
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    const lines = result.stderr.trim().split('\n')
    assert.equal(lines.length, 1, result.stderr)
    assert.match(lines[0], /^dot: unknown command "nosuch"; commands are: .*\bcreate\b.*\bls\b/)
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
