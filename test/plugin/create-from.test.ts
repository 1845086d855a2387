import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {ServeProcess} from './plugin-process.js'

/**
 * Docker's `docker volume create -o base=DIR -o from=/abs/layer.tar` over the real socket: the new
 * volume starts with the layer's changes; a relative path or a hostile layer is an Err and creates
 * nothing.
 */
describe('dot serve: Create with -o from= seeds the volume with a layer', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-plugin-from-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  let serve: ServeProcess
  let base: string
  const layer = path.join(tmp.dir, 'layer.tar')

  before(async () => {
    assertRoot()
    base = tmp.base('data', {'keep.txt': 'kept\n', 'gone.txt': 'deleted by the layer\n'})
    // A layer as any OCI tool writes it: a new file, and a whiteout.
    const src = path.join(tmp.dir, 'layer-src')
    fs.mkdirSync(src)
    fs.writeFileSync(path.join(src, 'added.txt'), 'from the layer\n')
    fs.writeFileSync(path.join(src, '.wh.gone.txt'), '')
    await execa('tar', ['-c', '-f', layer, '-C', src, '--format=posix', './added.txt', './.wh.gone.txt'])
    serve = await ServeProcess.start({root: tmp.root, socket})
  })
  after(async () => {
    await serve?.stop()
    tmp.cleanup()
  })

  test('the volume shows the base with the layer applied', async () => {
    const created = await serve.call('/VolumeDriver.Create', {Name: 'seeded', Opts: {base, from: layer}})
    assert.deepEqual(created.json, {})
    const diff = await runDot(['diff', 'seeded', '--root', tmp.root])
    assert.equal(diff.stdout, 'A /added.txt\nD /gone.txt\n')
    const mounted = await serve.call('/VolumeDriver.Mount', {Name: 'seeded', ID: 'c1'})
    const mp = mounted.json.Mountpoint as string
    try {
      assert.deepEqual(fs.readdirSync(mp).sort(), ['added.txt', 'keep.txt'])
    } finally {
      await serve.call('/VolumeDriver.Unmount', {Name: 'seeded', ID: 'c1'})
    }
    assert.deepEqual(fs.readdirSync(base).sort(), ['gone.txt', 'keep.txt'], 'the base is untouched')
  })

  test('a relative path or a hostile layer is an Err and creates nothing', async () => {
    const relative = await serve.call('/VolumeDriver.Create', {Name: 'rel', Opts: {base, from: 'layer.tar'}})
    assert.match(relative.json.Err as string, /option "from" must be the absolute path of a layer tar file/)
    const hostile = path.join(tmp.dir, 'hostile.tar')
    await execa('tar', ['-c', '-f', hostile, '-P', '--format=posix', '-C', tmp.dir, `${base}/keep.txt`])
    const refused = await serve.call('/VolumeDriver.Create', {Name: 'hostile', Opts: {base, from: hostile}})
    assert.match(refused.json.Err as string, /is absolute; a layer holds paths relative to the volume's root/)
    assert.ok(!fs.existsSync(path.join(tmp.root, 'rel')) && !fs.existsSync(path.join(tmp.root, 'hostile')))
  })
})
