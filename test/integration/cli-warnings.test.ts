import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'

/** The core's warnings reach the admin on stderr (no root needed: nothing here mounts). */
describe('CLI: warnings of the core', () => {
  const tmp = new TempRoot('dot-test-cli-warnings-')
  after(() => tmp.cleanup())

  test('dot ls names a volume it skips for unreadable metadata on stderr, and --json stays one clean document', async () => {
    for (const name of ['garbled', 'healthy']) {
      const created = await runDot(dotArgs(tmp.root, ['create', name, '--base', tmp.base(name)]))
      assert.equal(created.code, 0, created.stderr)
    }
    fs.writeFileSync(path.join(tmp.root, 'garbled', 'metadata.json'), '{"BaseDirPath": "/tru')

    const human = await runDot(dotArgs(tmp.root, ['ls']))
    assert.equal(human.code, 0)
    assert.match(human.stdout, /^healthy /m)
    assert.doesNotMatch(human.stdout, /garbled/)
    assert.match(human.stderr, /^dot ls: warning: volume "garbled" has unreadable metadata \(.*metadata\.json\): metadata is not valid JSON.*\n$/)

    const json = await runDot(dotArgs(tmp.root, ['ls'], {json: true}))
    assert.equal(json.code, 0)
    assert.deepEqual((parseJson(json) as {name: string}[]).map((v) => v.name), ['healthy'])
    assert.equal(json.stderr, '')
  })
})
