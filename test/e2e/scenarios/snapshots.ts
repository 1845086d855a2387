import assert from 'node:assert/strict'
import {test} from 'node:test'

import {dockerOk} from '../harness/docker.js'
import type {E2E} from '../harness/e2e.js'
import {lowerLayers} from '../../helpers/lower-layers.js'
import {runDot} from '../../helpers/run-dot.js'

/** Snapshots of a volume that dockerd mounts: containers see the layered view, and rollback's. */
export function snapshotsThroughDocker(e2e: E2E): void {
  const dot = (args: string[]) => runDot([...args, '--root', e2e.layout.root])
  const released = (volume: string) => e2e.waitFor(`${volume} to be unmounted`, () => e2e.overlays(volume).length === 0)
  const READ = 'for f in hello one two; do test -e /data/$f && echo "$f: $(cat /data/$f)"; done; test -e /data/sub/nested || echo no-nested; true'

  test('docker run on a volume with snapshots sees the layered view; snapshot in use is refused; rollback shows the tag\'s view', {timeout: 120_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('snapshots', {hello: 'from base\n', 'sub/nested': 'nested\n'})
    const name = await e2e.createVolume('snapshots', {base})

    await e2e.runOk(name, 'echo one > /data/one; rm /data/hello')
    await released(name)
    assert.equal((await dot(['snapshot', name, 's1'])).code, 0)
    await e2e.runOk(name, 'echo two > /data/two; echo again > /data/one; rm /data/sub/nested')
    await released(name)
    assert.equal((await dot(['snapshot', name, 's2'])).code, 0)
    await e2e.runOk(name, 'echo after > /data/hello')
    await released(name)

    const container = await e2e.startContainer(name, 'snapshots-reader')
    assert.equal(await e2e.exec(container, READ), 'hello: after\none: again\ntwo: two\nno-nested')
    const [overlay] = e2e.overlays(name)
    assert.equal(lowerLayers(overlay.superOptions).length, 3, `two snapshot layers over the base: ${overlay.superOptions}`)
    assert.equal(((await e2e.inspect(name)).Status as {snapshots: number}).snapshots, 2)
    const busy = await dot(['snapshot', name, 's3'])
    assert.equal(busy.code, 5, busy.stderr)
    await dockerOk(['rm', '-f', container])
    await released(name)

    assert.equal((await dot(['rollback', name, 's1'])).code, 0)
    assert.equal(await e2e.runOk(name, READ), 'one: one', 'the view at s1: the base without hello, plus one')
    await released(name)
  }))
}
