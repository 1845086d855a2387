import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, test} from 'node:test'

import {MetadataCache} from '../../src/core/disk/metadata-cache.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-metacache-unit-'))
after(() => fs.rmSync(dir, {recursive: true, force: true}))

test('the cache keeps at most its bound of parses, and forgets a removed volume at once', async () => {
  const files = ['a', 'b', 'c', 'd'].map((name) => {
    const file = path.join(dir, `${name}.json`)
    fs.writeFileSync(file, JSON.stringify({BaseDirPath: `/srv/${name}`, Volatile: false}))
    return file
  })
  await new Promise((resolve) => setTimeout(resolve, 80)) // past the quiet period
  const cache = new MetadataCache(3)
  for (const file of files) assert.equal(cache.read(file, 'v').base, `/srv/${path.basename(file, '.json')}`)
  assert.equal(cache.size, 3)
  // The newest stay; the oldest (a) was dropped and is parsed again from the file.
  assert.equal(cache.read(files[0], 'v').base, '/srv/a')
  cache.forget(files[0])
  assert.equal(cache.size, 2)
})
