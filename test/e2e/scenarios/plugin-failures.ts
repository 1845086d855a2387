import assert from 'node:assert/strict'
import fs from 'node:fs'
import {test} from 'node:test'

import {docker, dockerOk} from '../harness/docker.js'
import type {E2E} from '../harness/e2e.js'

/** What happens when the plugin crashes or a base disappears, against a real dockerd. */
export function pluginFailures(e2e: E2E): void {
  test('kill -9 of dot serve while a container runs, then a restart: the data stays, and the stop unmounts cleanly', {timeout: 120_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('crash', {'base.txt': 'base\n'})
    const name = await e2e.createVolume('crash', {base})
    const container = await e2e.startContainer(name, 'crash', 'echo before-crash > /data/before.txt; exec sleep 600')
    await e2e.waitFor('the container to write', () => fs.existsSync(`${e2e.layout.upper(name)}/before.txt`))
    const [overlay] = e2e.overlays(name)
    const records = e2e.records(name)
    assert.equal(records.length, 1)

    await e2e.plugin.kill()
    try {
      assert.ok(fs.existsSync(e2e.socket), 'a SIGKILLed plugin leaves its socket file behind')
      // The container does not depend on the plugin process: it keeps reading and writing.
      const seen = await e2e.exec(container, 'cat /data/before.txt /data/base.txt; echo while-dead > /data/during.txt; cat /data/during.txt')
      assert.equal(seen, 'before-crash\nbase\nwhile-dead')
    } finally {
      // Restarted even if a check failed, so the later scenarios and the cleanup have their plugin.
      await e2e.plugin.start()
    }

    // The restart cleared the stale socket and reconciled: the volume in use stays mounted and recorded.
    assert.deepEqual(e2e.overlays(name).map((e) => e.id), [overlay.id], 'the restart left the overlay in use alone')
    assert.deepEqual(e2e.records(name), records, 'the restart kept the mount record')
    assert.equal(await e2e.exec(container, 'cat /data/before.txt /data/during.txt'), 'before-crash\nwhile-dead')
    assert.equal((await e2e.inspect(name)).Mountpoint, e2e.layout.mountpoint(name), 'Get works after the restart')

    // dockerd reconnects to the same socket without a new Activate; its Unmount reaches the new process.
    await dockerOk(['stop', '-t', '1', container])
    await e2e.waitFor('the volume to be unmounted', () => e2e.overlays(name).length === 0)
    assert.deepEqual(e2e.records(name), [])
    assert.deepEqual(fs.readdirSync(e2e.layout.mountpoint(name)), [], 'nothing is mounted on the mountpoint directory kept for the next mount')
    assert.equal(await e2e.runOk(name, 'cat /data/before.txt /data/during.txt'), 'before-crash\nwhile-dead', 'the data survived')
    await e2e.waitFor('the volume to be unmounted', () => e2e.overlays(name).length === 0)
  }))

  test('a base deleted after create: docker run fails with a clear message and nothing is left mounted', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('vanish', {'v.txt': 'v'})
    const name = await e2e.createVolume('vanish', {base})
    fs.rmSync(base, {recursive: true})

    const failed = await e2e.run(name, 'echo should-not-run')
    assert.notEqual(failed.code, 0, `docker run succeeded:\n${failed.stdout}`)
    assert.doesNotMatch(failed.stdout, /should-not-run/)
    assert.match(failed.stderr, /does not exist/, 'docker shows the plugin\'s reason')
    assert.ok(failed.stderr.includes(base), `docker's message names the base: ${failed.stderr}`)
    assert.doesNotMatch(failed.stderr, /\n\s+at /, 'no stack trace')
    assert.equal(e2e.overlays(name).length, 0, 'nothing mounted')
    assert.deepEqual(e2e.records(name), [], 'no mount record')
    assert.ok(!fs.existsSync(e2e.layout.mountpoint(name)), 'no mountpoint directory left')

    // The volume itself is intact: with the base back, the next container works.
    fs.mkdirSync(base, {recursive: true})
    fs.writeFileSync(`${base}/back.txt`, 'back')
    assert.equal(await e2e.runOk(name, 'cat /data/back.txt'), 'back')
    await e2e.waitFor('the volume to be unmounted', () => e2e.overlays(name).length === 0)
    assert.equal((await docker(['volume', 'inspect', name])).code, 0)
  }))
}
