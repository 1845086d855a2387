import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {runDot} from '../helpers/run-dot.js'

describe('CLI help', () => {
  test('dot --help lists every admin command', async () => {
    const result = await runDot(['--help'])
    assert.equal(result.code, 0, result.stderr)
    for (const command of ['create', 'rm', 'ls', 'inspect', 'mount', 'unmount', 'autocomplete']) {
      assert.match(result.stdout, new RegExp(`^  ${command} +\\S`, 'm'), `${command} in dot --help`)
    }
  })

  test('dot ls --help documents -q, --json, --root and the columns', async () => {
    const result = await runDot(['ls', '--help'])
    assert.equal(result.code, 0, result.stderr)
    for (const text of ['-q, --quiet', '--json', '--root=DIR', 'DOT_ROOT', 'NAME, BASE, VOLATILE, STATE', 'NO_COLOR']) {
      assert.ok(result.stdout.includes(text), `${text} in dot ls --help`)
    }
  })

  test('dot mount --help documents the default mount ID for mounts made by hand', async () => {
    const result = await runDot(['mount', '--help'])
    assert.match(result.stdout, /--id=ID\s+\[default: manual\]/)
  })

  test('dot create --help documents -o key=value', async () => {
    const result = await runDot(['create', '--help'])
    assert.match(result.stdout, /-o, --opt=key=value\.\.\./)
  })

  test('every command names its flag values (no bare <value>), and serve documents its flags', async () => {
    for (const command of ['create', 'rm', 'ls', 'inspect', 'mount', 'unmount', 'serve']) {
      const result = await runDot([command, '--help'])
      assert.equal(result.code, 0, result.stderr)
      assert.doesNotMatch(result.stdout, /<value>|<option>/, `dot ${command} --help`)
    }
    const serve = (await runDot(['serve', '--help'])).stdout
    for (const text of ['--name=NAME', '--socket=PATH', 'DOT_SOCKET', '--log-level=LEVEL', 'debug (one line per request), info, warn', 'DOT_LOG_LEVEL']) {
      assert.ok(serve.includes(text), `${text} in dot serve --help`)
    }
  })
})

/** Shell completion through @oclif/plugin-autocomplete, exercised in a real bash. */
describe('CLI shell completion', () => {
  let cache: string
  before(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-completion-'))
  })
  after(() => fs.rmSync(cache, {recursive: true, force: true}))

  test('dot autocomplete builds a bash completion that completes commands and flags', async () => {
    const result = await runDot(['autocomplete', 'bash'], {env: {XDG_CACHE_HOME: cache, HOME: cache}})
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /dot autocomplete script bash/)
    const functions = path.join(cache, 'docker-on-top', 'autocomplete', 'functions', 'bash', 'dot.bash')
    assert.ok(fs.existsSync(functions), `${functions} written`)
    const complete = (...words: string[]) =>
      execFileSync(
        'bash',
        ['-c', `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; _dot_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`, 'complete', functions, ...words],
        {encoding: 'utf8'},
      )
        .split('\n')
        .filter(Boolean)
    assert.deepEqual(complete('dot', 'mo'), ['mount'])
    assert.deepEqual(complete('dot', 'un'), ['unmount'])
    assert.deepEqual(complete('dot', 'ls', '--q'), ['--quiet'])
    assert.deepEqual(complete('dot', 'rm', '--f'), ['--force'])
    assert.deepEqual(complete('dot', 'create', '--vol'), ['--volatile'])
  })
})
