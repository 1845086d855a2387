import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {docker, dockerOk} from '../harness/docker.js'
import type {E2E} from '../harness/e2e.js'

const chattr = (flag: '+i' | '-i', file: string) => execFileSync('chattr', [flag, file])

/** Files named `name` anywhere below `dir` (no symlinks followed). */
function findFiles(dir: string, name: string): string[] {
  return (fs.readdirSync(dir, {withFileTypes: true, recursive: true}) as fs.Dirent[])
    .filter((entry) => entry.isFile() && entry.name === name)
    .map((entry) => path.join(entry.parentPath, entry.name))
}

/**
 * Issue 10, item 2, against a real dockerd: a container's Unmount fails half way (its mount record is
 * immutable, `chattr +i`: EPERM), the container goes; `docker volume rm` must then succeed, and the
 * next `docker run` on the volume sees its data as it was (or, once removed, is refused clearly).
 */
export function removeAfterFailedUnmount(e2e: E2E): void {
  /** A running container that wrote kept.txt, its record pinned, then removed: its Unmount fails. */
  const failedUnmount = async (label: string) => {
    const base = e2e.tmp.base(label, {'base.txt': 'base\n'})
    const name = await e2e.createVolume(label, {base})
    const container = await e2e.startContainer(name, label, 'echo kept > /data/kept.txt; exec sleep 600')
    await e2e.waitFor('the container to write', () => fs.existsSync(path.join(e2e.layout.upper(name), 'kept.txt')))
    const [id] = e2e.records(name)
    assert.ok(id, 'the container\'s mount is recorded')
    const record = e2e.layout.activeMount(name, id)
    chattr('+i', record)
    await dockerOk(['rm', '-f', container])
    await e2e.waitFor('dockerd to send the Unmount', () => e2e.plugin.log.includes(`volume "${name}": updating the record of mount ${id}`))
    assert.deepEqual(e2e.records(name), [id], 'the Unmount failed half way: the record stays')
    return {name, id, record}
  }
  /** Makes every copy of the record deletable again, wherever a remove moved it. */
  const unpin = (id: string) => {
    for (const file of findFiles(e2e.tmp.root, id)) chattr('-i', file)
  }

  test('docker volume rm after an Unmount that failed on a pinned record succeeds; docker run then refuses the name clearly', {timeout: 120_000}, e2e.withLog(async () => {
    const {name, id} = await failedUnmount('pinned')
    try {
      const removed = await docker(['volume', 'rm', name])
      assert.equal(removed.code, 0, `docker volume rm must succeed once no container references the volume:\n${removed.stderr}`)
      e2e.forget(name)
      assert.equal(e2e.overlays(name).length, 0, 'nothing left mounted')
      assert.equal(fs.existsSync(e2e.layout.volume(name)), false, 'the volume is gone from the root')
    } finally {
      unpin(id)
    }
    // The name is free: a `docker run` naming the driver asks for a new volume without a base, which is refused clearly.
    const run = await docker(['run', '--rm', '--network', 'none', '--label', `dot-test=${e2e.driver}`, '--volume-driver', e2e.driver, '-v', `${name}:/data`, 'dot-test-busybox:latest', 'cat', '/data/kept.txt'])
    assert.notEqual(run.code, 0, `docker run on the removed volume must not succeed: ${run.stdout}`)
    assert.match(run.stderr, /missing required option "base"/)
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
  }))

  test('after an Unmount that failed on a pinned record, once the file is removable again, docker run sees the data as it was and docker volume rm succeeds', {timeout: 120_000}, e2e.withLog(async () => {
    const {name, id} = await failedUnmount('unpinned')
    unpin(id)
    assert.equal(await e2e.runOk(name, 'cat /data/kept.txt /data/base.txt'), 'kept\nbase')
    await dockerOk(['volume', 'rm', name])
    e2e.forget(name)
    assert.equal(e2e.overlays(name).length, 0, 'nothing left mounted')
    assert.equal(fs.existsSync(e2e.layout.volume(name)), false)
  }))
}
