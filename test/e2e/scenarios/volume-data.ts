import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {dockerHost} from '../../helpers/requirements.js'
import {parseJson, runDot} from '../../helpers/run-dot.js'
import {dockerOk} from '../harness/docker.js'
import type {E2E} from '../harness/e2e.js'
import {snapshot} from '../harness/tree.js'

const BASE_FILES = {'hello.txt': 'hello from base\n', 'sub/nested.txt': 'nested\n'}

/** What containers see and write through a volume, against a real dockerd and a real `dot serve`. */
export function containersOnAVolume(e2e: E2E): void {
  /** After the last container leaves: no overlay, no mount record. */
  async function assertReleased(volume: string): Promise<void> {
    await e2e.waitFor(`${volume} to be unmounted`, () => e2e.overlays(volume).length === 0)
    assert.deepEqual(e2e.records(volume), [], 'no mount records left')
  }

  const WRITE = 'cat /data/hello.txt /data/sub/nested.txt; echo new > /data/new.txt; ' +
    'echo changed > /data/hello.txt; rm /data/sub/nested.txt; mkdir /data/made'
  const READ = 'cat /data/hello.txt; test -e /data/new.txt && cat /data/new.txt; ' +
    'test -e /data/sub/nested.txt && echo nested-here; test -d /data/made && echo made-here; true'

  test('a container sees the base, and its writes persist for a later container; the base is unchanged', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('persist', BASE_FILES)
    const pristine = snapshot(base)
    const name = await e2e.createVolume('persist', {base})

    assert.equal(await e2e.runOk(name, WRITE), 'hello from base\nnested')
    await assertReleased(name)
    assert.equal(await e2e.runOk(name, READ), 'changed\nnew\nmade-here', 'the second container sees the first one\'s writes, deletion and new dir')
    await assertReleased(name)

    assert.equal(fs.readFileSync(path.join(e2e.layout.upper(name), 'new.txt'), 'utf8'), 'new\n', 'the writes are in the upper layer')
    assert.deepEqual(snapshot(base), pristine, 'the base is unchanged')
  }))

  test('docker volume create -o from=LAYER seeds the volume: the layer\'s files and deletions over the base', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('seeded', BASE_FILES)
    const pristine = snapshot(base)
    const content = e2e.tmp.base('seed-layer', {'seeded.txt': 'from the layer\n', '.wh.hello.txt': '', 'sub/added.txt': 'added\n'})
    const layer = path.join(e2e.tmp.dir, 'seed.tar')
    execFileSync('tar', ['-C', content, '-cf', layer, '.'])
    const name = await e2e.createVolume('seeded', {base, from: layer})
    assert.equal(await e2e.runOk(name, 'cat /data/seeded.txt /data/sub/added.txt /data/sub/nested.txt; test -e /data/hello.txt && echo hello-here; true'), 'from the layer\nadded\nnested')
    await assertReleased(name)
    assert.deepEqual(snapshot(base), pristine, 'the base is unchanged')
  }))

  test('dot doctor finds the driver in dockerd\'s list once dockerd has used it', {timeout: 60_000}, e2e.withLog(async () => {
    const name = await e2e.createVolume('doctor', {base: e2e.tmp.base('doctor', BASE_FILES)})
    await e2e.runOk(name, 'true')
    const result = await runDot(['doctor', '--name', e2e.driver, '--socket', e2e.socket, '--root', e2e.tmp.root, '--json'], {env: {DOCKER_HOST: dockerHost()}})
    const checks = (parseJson(result) as {checks: {id: string; status: string; message: string}[]}).checks
    const check = (id: string) => checks.find((c) => c.id === id)
    assert.equal(check('docker')?.status, 'ok', JSON.stringify(check('docker')))
    assert.match(check('docker')!.message, new RegExp(`lists the volume driver "${e2e.driver}"`))
    assert.equal(check('socket')?.status, 'ok', JSON.stringify(check('socket')))
  }))

  test('a volatile volume forgets a container\'s writes for the next container; the base is unchanged', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('volatile', BASE_FILES)
    const pristine = snapshot(base)
    const name = await e2e.createVolume('volatile', {base, volatile: 'true'})

    assert.equal(await e2e.runOk(name, WRITE), 'hello from base\nnested')
    await assertReleased(name)
    assert.equal(await e2e.runOk(name, READ), 'hello from base\nnested-here', 'the second container sees only the base')
    await assertReleased(name)
    assert.deepEqual(snapshot(base), pristine, 'the base is unchanged')
  }))

  test('two containers at once see each other\'s writes live, through exactly one overlay', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('shared', BASE_FILES)
    const pristine = snapshot(base)
    const name = await e2e.createVolume('shared', {base})
    const one = await e2e.startContainer(name, 'shared-1')
    const two = await e2e.startContainer(name, 'shared-2')

    await e2e.exec(one, 'echo from-one > /data/one.txt')
    assert.equal(await e2e.exec(two, 'cat /data/one.txt'), 'from-one')
    await e2e.exec(two, 'echo from-two > /data/two.txt; echo edited-by-two > /data/hello.txt')
    assert.equal(await e2e.exec(one, 'cat /data/two.txt /data/hello.txt'), 'from-two\nedited-by-two')
    await e2e.exec(one, 'rm /data/sub/nested.txt')
    assert.equal(await e2e.exec(two, 'test -e /data/sub/nested.txt && echo here || echo gone'), 'gone')

    assert.equal(e2e.overlays(name).length, 1, 'exactly one overlay while both run')
    assert.equal(e2e.records(name).length, 2, 'one mount record per container')

    await dockerOk(['rm', '-f', one])
    await e2e.waitFor('the first container\'s mount record to go', () => e2e.records(name).length === 1)
    assert.equal(e2e.overlays(name).length, 1, 'still mounted for the second container')
    assert.equal(await e2e.exec(two, 'cat /data/one.txt'), 'from-one')
    await dockerOk(['rm', '-f', two])
    await assertReleased(name)
    assert.deepEqual(snapshot(base), pristine, 'the base is unchanged')
  }))

  test('docker cp into and out of a running container neither unmounts nor resets the volume (moby#47964)', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('cp', BASE_FILES)
    const name = await e2e.createVolume('cp', {base, volatile: 'true'})
    const container = await e2e.startContainer(name, 'cp')
    await e2e.exec(container, 'echo before > /data/before.txt')
    const [overlay] = e2e.overlays(name)
    const records = e2e.records(name)
    assert.ok(overlay, 'mounted while the container runs')

    const hostIn = path.join(e2e.tmp.dir, 'cp-in.txt')
    fs.writeFileSync(hostIn, 'copied in\n')
    await dockerOk(['cp', hostIn, `${container}:/data/copied.txt`])
    const hostOut = path.join(e2e.tmp.dir, 'cp-out')
    fs.mkdirSync(hostOut)
    await dockerOk(['cp', `${container}:/data/before.txt`, hostOut])
    assert.equal(fs.readFileSync(path.join(hostOut, 'before.txt'), 'utf8'), 'before\n')

    // The cp's Mount/Unmount pairs reuse the container's mount ID: the volume must stay as it was.
    assert.deepEqual(e2e.overlays(name).map((e) => e.id), [overlay.id], 'the same single overlay, never remounted')
    assert.deepEqual(e2e.records(name), records, 'the container\'s mount record is still there')
    assert.equal(await e2e.exec(container, 'cat /data/before.txt /data/copied.txt'), 'before\ncopied in', 'nothing was reset (the volume is volatile)')

    // A second container joins the same overlay and sees what the first wrote after the cp.
    await e2e.exec(container, 'echo after > /data/after.txt')
    assert.equal(await e2e.runOk(name, 'cat /data/after.txt /data/copied.txt'), 'after\ncopied in')
    assert.deepEqual(e2e.overlays(name).map((e) => e.id), [overlay.id], 'still the same single overlay')

    await dockerOk(['rm', '-f', container])
    await assertReleased(name)
  }))

  test('10 containers started at once on one volume all start and see the same content', {timeout: 180_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('many', {'seed.txt': 'seed'})
    const name = await e2e.createVolume('many', {base})
    const count = 10
    const containers = await Promise.all(
      Array.from({length: count}, (_, i) => e2e.startContainer(name, `many-${i}`, `echo ${i} > /data/c-${i}.txt; exec sleep 600`)),
    )
    const expected = ['seed.txt', ...Array.from({length: count}, (_, i) => `c-${i}.txt`)].sort().join('\n')
    for (const container of containers) {
      await e2e.waitFor(`${container} to see every container's file`, async () => {
        const seen = await e2e.exec(container, 'ls /data').then((out) => out.split('\n').sort().join('\n'))
        return seen === expected
      })
      assert.equal(await e2e.exec(container, 'cat /data/seed.txt'), 'seed')
    }
    assert.equal(e2e.overlays(name).length, 1, 'exactly one overlay for all of them')
    assert.equal(e2e.records(name).length, count, 'one mount record per container')

    await Promise.all(containers.map((c) => dockerOk(['rm', '-f', c])))
    await assertReleased(name)
  }))
}
