import assert from 'node:assert/strict'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

/** A mount ID that is not a JSON string (issue 10, item 9) is named as such, over the real socket. */
describe('dot serve: a mount ID must be a string', rootOnly(), () => {
  let tmp: TempRoot
  let serve: ServeProcess
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-mount-id-')
    serve = await ServeProcess.start({root: tmp.root, socket: path.join(tmp.dir, 'plugin.sock')})
    assert.equal((await serve.call('/VolumeDriver.Create', {Name: 'v', Opts: {base: tmp.base('base')}})).json.Err, undefined)
  })
  after(async () => {
    await serve?.stop()
    tmp?.cleanup()
  })

  for (const endpoint of ['/VolumeDriver.Mount', '/VolumeDriver.Unmount']) {
    for (const id of [123, true, null, {a: 1}]) {
      test(`${endpoint} with "ID": ${JSON.stringify(id)}`, async () => {
        const answer = await serve.call(endpoint, {Name: 'v', ID: id})
        assert.equal(answer.status, 200)
        assert.match(String(answer.json.Err), /^mount ID must be a string/, answer.text)
        assert.ok(String(answer.json.Err).includes(JSON.stringify(id)), answer.text)
      })
    }
  }
  test('an empty string is still "empty"', async () => {
    assert.match(String((await serve.call('/VolumeDriver.Mount', {Name: 'v', ID: ''})).json.Err), /empty/)
  })
})
