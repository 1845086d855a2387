import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {DOT_BIN, runDot} from '../helpers/run-dot.js'
import {MANDATORY} from '../helpers/requirements.js'

/**
 * `dot completion bash|zsh` run in a real bash (zsh where installed): COMP_WORDS as bash sets them
 * for `dot rm al<TAB>`, and the completion function's COMPREPLY.
 */
describe('shell completion: commands, flags and volume names', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-completion-'))
  const root = path.join(dir, 'root')
  const script = path.join(dir, 'dot.bash')

  before(async () => {
    // Volumes as `dot ls -q` sees them: directories with valid names (no metadata read).
    for (const name of ['alpha', 'alpine', 'beta', '.tmp-alpha-x']) fs.mkdirSync(path.join(root, name), {recursive: true})
    fs.mkdirSync(path.join(dir, 'bin'))
    fs.writeFileSync(path.join(dir, 'bin', 'dot'), `#!/bin/sh\nexec '${process.execPath}' '${DOT_BIN}' "$@"\n`, {mode: 0o755})
    const result = await runDot(['completion', 'bash'])
    assert.equal(result.code, 0, result.stderr)
    fs.writeFileSync(script, result.stdout)
  })
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  const complete = async (...words: string[]) => {
    const line = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _dot_complete; printf '%s\\n' "\${COMPREPLY[@]}"`
    const result = await execa('bash', ['-c', line], {env: {PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, NO_COLOR: '1'}})
    return result.stdout.split('\n').filter(Boolean).sort()
  }

  test('volume names for the commands that take one, from the root given by --root', async () => {
    assert.deepEqual(await complete('dot', 'rm', '--root', root, 'al'), ['alpha', 'alpine'])
    assert.deepEqual(await complete('dot', 'inspect', '--root', '=', root, ''), ['alpha', 'alpine', 'beta'])
    assert.deepEqual(await complete('dot', 'mount', '--root', root, 'b'), ['beta'])
  })

  test('command names, and each command its own flags', async () => {
    assert.deepEqual(await complete('dot', 'un'), ['unmount'])
    assert.deepEqual(await complete('dot', 'diff', '--st'), ['--stat'])
    assert.ok((await complete('dot', 'ls', '--')).includes('--no-trunc'))
  })

  test('zsh gets the same function through bashcompinit', async (t) => {
    const result = await runDot(['completion', 'zsh'])
    assert.match(result.stdout, /bashcompinit/)
    assert.match(result.stdout, /complete -o default -F _dot_complete dot/)
    if ((await execa('zsh', ['-c', 'true'], {reject: false})).exitCode !== 0) {
      if (MANDATORY) throw new Error('required test cannot run: needs zsh (apt-get install zsh)')
      return t.skip('zsh is not installed')
    }
    const zsh = await execa('zsh', ['-c', `eval "$(${path.join(dir, 'bin', 'dot')} completion zsh)"; COMP_WORDS=(dot rm --root ${root} al); COMP_CWORD=4; _dot_complete; print -l $COMPREPLY`], {env: {PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, NO_COLOR: '1'}})
    assert.deepEqual(zsh.stdout.split('\n').filter(Boolean).sort(), ['alpha', 'alpine'])
  })
})
