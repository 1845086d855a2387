import assert from 'node:assert/strict'
import fs from 'node:fs'
import {test} from 'node:test'

import {parseMountinfo} from '../../../src/core/kernel/mountinfo.js'
import {dockerOk} from '../harness/docker.js'
import type {E2E} from '../harness/e2e.js'

function hostMount(dir: string) {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).find((e) => e.mountpoint === dir)
}

/** -o size= and -o tmpfs=true through a real dockerd. */
export function sizeLimits(e2e: E2E): void {
  test('a container writing past -o size=64M gets "No space left on device" while another volume keeps working', {timeout: 120_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('limited', {'hello.txt': 'hello from base\n'})
    const limited = await e2e.createVolume('limited', {base, size: '64M'})
    const other = await e2e.createVolume('unlimited', {base})
    const writer = await e2e.run(limited, 'dd if=/dev/zero of=/data/big bs=1M count=100; echo "exit=$?"; cat /data/hello.txt')
    assert.match(writer.stderr, /No space left on device/)
    assert.match(writer.stdout, /exit=1/)
    assert.match(writer.stdout, /hello from base/, 'the full volume still reads')
    // Another volume on the same host, while the limited one is full.
    assert.equal(await e2e.runOk(other, 'dd if=/dev/zero of=/data/big bs=1M count=80 2>/dev/null && wc -c < /data/big'), String(80 * 2 ** 20))
    const status = (await e2e.inspect(limited)).Status as Record<string, unknown>
    assert.equal(status.sizeLimit, 64 * 2 ** 20)
    assert.ok((status.limitUsed as number) > 50 * 2 ** 20, `limitUsed ${String(status.limitUsed)}`)
    await e2e.waitFor(`${limited} to be unmounted`, () => e2e.overlays(limited).length === 0)
    assert.deepEqual(e2e.records(limited), [], 'records intact: the last container left none')
    // The full volume is still usable: freeing space works, and the next container writes again.
    assert.equal(await e2e.runOk(limited, 'rm /data/big && echo small > /data/small.txt && cat /data/small.txt'), 'small')
    const refused = await e2e.tryCreateVolume(e2e.name('badsize'), {base, size: '10Q'})
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /unknown unit "Q"/)
  }))

  test('a tmpfs=true volatile volume keeps its changes on a tmpfs, gone after the last container', {timeout: 120_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('mem', {'hello.txt': 'hello from base\n'})
    const name = await e2e.createVolume('mem', {base, volatile: 'true', tmpfs: 'true', size: '32M'})
    const limit = e2e.layout.limit(name)
    const container = await e2e.startContainer(name, 'mem')
    await e2e.exec(container, 'echo in-memory > /data/new.txt')
    // The container's own mount table: /data is the overlay whose upper is on the volume's limit/ ...
    const inside = await e2e.exec(container, 'grep " /data " /proc/self/mountinfo')
    assert.match(inside, new RegExp(`upperdir=${limit}/upper`))
    // ... and that is a tmpfs on the host; nothing of the change is below it on disk.
    assert.equal(hostMount(limit)?.fstype, 'tmpfs')
    assert.equal(fs.readFileSync(`${limit}/upper/new.txt`, 'utf8'), 'in-memory\n')
    await dockerOk(['rm', '-f', container])
    await e2e.waitFor('the tmpfs to go with the last container', () => hostMount(limit) === undefined)
    assert.deepEqual(fs.readdirSync(limit), [], 'nothing was on disk')
    assert.equal(await e2e.runOk(name, 'test -e /data/new.txt && echo kept || echo gone; cat /data/hello.txt'), 'gone\nhello from base')
    const refused = await e2e.tryCreateVolume(e2e.name('tmpfs-nonvolatile'), {base, tmpfs: 'true'})
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /needs volatile=true/)
  }))
}
