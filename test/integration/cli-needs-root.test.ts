import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

/** Runs the CLI as nobody: what a user who forgot sudo sees. */
const AS_NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']

describe('CLI: a permission error without root says the command needs root (exit 2)', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-needs-root-')
  let base: string
  const env = {HOME: '/tmp'}

  before(() => {
    assertRoot()
    fs.chmodSync(tmp.dir, 0o755)
    base = tmp.base('data')
  })
  after(() => tmp.cleanup())

  test('create on a root only root may write', async () => {
    const human = await runDot(['create', 'v', '--base', base, '--root', tmp.root], {prefix: AS_NOBODY, env})
    assert.equal(human.code, 2, human.stderr)
    assert.match(human.stderr, /^dot create: (creating the root .*: )?EACCES: permission denied, mkdir '.*\/root': this command needs root; run it with sudo\n$/)
    const json = await runDot(['create', 'v', '--base', base, '--root', tmp.root, '--json'], {prefix: AS_NOBODY, env})
    assert.equal(json.code, 2)
    const doc = parseJson(json) as {error: {code: string; exitCode: number; needsRoot: boolean}}
    assert.deepEqual([doc.error.code, doc.error.exitCode, doc.error.needsRoot], ['invalid', 2, true])
    assert.equal(fs.existsSync(tmp.root), false)
  })

  test('serve on a socket in a directory only root may write', async () => {
    const socket = path.join(tmp.dir, 'plugin.sock')
    const result = await runDot(['serve', '--socket', socket, '--root', tmp.root], {prefix: AS_NOBODY, env, timeoutMs: 20_000})
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /EACCES.*plugin\.sock: this command needs root; run it with sudo/)
  })
})
