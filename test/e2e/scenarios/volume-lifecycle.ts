import assert from 'node:assert/strict'
import fs from 'node:fs'
import {test} from 'node:test'

import {docker, dockerOk} from '../harness/docker.js'
import type {E2E} from '../harness/e2e.js'

/** Volumes through `docker volume create|inspect|ls|rm` against a real dockerd and a real `dot serve`. */
export function volumeLifecycle(e2e: E2E): void {
  test('docker volume create makes a normal and a volatile volume', {timeout: 60_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('create', {'a.txt': 'a'})
    const normal = await e2e.createVolume('create-normal', {base})
    const volatile = await e2e.createVolume('create-volatile', {base, volatile: 'true'})
    for (const [name, isVolatile] of [[normal, false], [volatile, true]] as const) {
      const info = await e2e.inspect(name)
      assert.equal(info.Driver, e2e.driver)
      assert.equal(info.Name, name)
      assert.deepEqual(info.Options, isVolatile ? {base, volatile: 'true'} : {base})
      const metadata = JSON.parse(fs.readFileSync(e2e.layout.metadata(name), 'utf8'))
      assert.equal(metadata.BaseDirPath, base)
      assert.equal(metadata.Volatile, isVolatile)
    }
  }))

  // Each bad request must be refused at create, with the plugin's own words in docker's output, and
  // leave nothing behind: neither in dockerd nor in the plugin's root.
  const refusals: {what: string; name?: string; options: (base: string, file: string) => string[]; message: RegExp}[] = [
    {what: 'no options at all', options: () => [], message: /missing required option "base"/},
    {what: 'an unknown option', options: (b) => [`base=${b}`, 'lowerdir=/etc'], message: /unknown option "lowerdir"; allowed options are: base, volatile/},
    {what: 'an empty base', options: () => ['base='], message: /option "base" is empty/},
    {what: 'a relative base', options: () => ['base=srv/data'], message: /base "srv\/data" is not an absolute path/},
    {what: 'a base that does not exist', options: (b) => [`base=${b}/missing`], message: /does not exist; create the directory first/},
    {what: 'a base that is a file', options: (_, f) => [`base=${f}`], message: /is not a directory/},
    {what: 'a bad volatile value', options: (b) => [`base=${b}`, 'volatile=maybe'], message: /invalid value "maybe" for option "volatile"/},
    {what: 'a base inside the plugin root', options: () => [`base=${e2e.tmp.root}`], message: /docker-on-top root/},
    {what: 'a name with a slash', name: '../../etc', options: (b) => [`base=${b}`], message: /contains "\/"/},
    {what: 'a name starting with a dot', name: '.hidden', options: (b) => [`base=${b}`], message: /invalid volume name "\.hidden"/},
  ]
  // Checked once by the ls scenario: each `docker volume ls` asks every driver dockerd ever activated.
  const refusedNames: string[] = []
  for (const refusal of refusals) {
    test(`docker volume create refuses ${refusal.what}, showing the plugin's message`, {timeout: 60_000}, e2e.withLog(async () => {
      const base = e2e.tmp.base('refusals')
      const file = `${e2e.tmp.dir}/a-file`
      fs.writeFileSync(file, 'not a directory')
      const name = refusal.name ?? e2e.name(`bad-${refusals.indexOf(refusal)}`)
      // Trash of an earlier test's rm may still be going away (deleted after Remove answers): not this create's.
      const rootEntries = () => (fs.existsSync(e2e.tmp.root) ? fs.readdirSync(e2e.tmp.root).filter((n) => !n.startsWith('.trash-')).sort() : [])
      const before = rootEntries()
      const result = await e2e.tryCreateVolume(name, refusal.options(base, file))
      assert.notEqual(result.code, 0, `docker volume create succeeded:\n${result.stdout}`)
      assert.match(result.stderr, refusal.message)
      // The plugin answers 200 {"Err": message}: docker prints the message as is after `create <name>:`.
      assert.ok(result.stderr.includes(`create ${name}: `), result.stderr)
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
      refusedNames.push(name)
      const after = rootEntries()
      assert.deepEqual(after, before, 'the refused create left something in the plugin root')
    }))
  }

  test('docker volume inspect shows CreatedAt and Status, and Mountpoint only while mounted', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('inspect', {'f.txt': 'f'})
    const startedAt = Date.now()
    const name = await e2e.createVolume('inspect', {base, volatile: 'yes'})

    const idle = await e2e.inspect(name)
    assert.equal(typeof idle.CreatedAt, 'string')
    const created = Date.parse(idle.CreatedAt as string)
    assert.ok(!Number.isNaN(created) && (idle.CreatedAt as string).match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/), `CreatedAt ${idle.CreatedAt} is RFC 3339`)
    // dockerd shows whole seconds.
    assert.ok(created >= Math.floor(startedAt / 1000) * 1000 - 1000 && created <= Date.now() + 1000, `CreatedAt ${idle.CreatedAt} is now`)
    assert.equal(idle.Mountpoint, '', 'no Mountpoint while not mounted')
    const idleStatus = idle.Status as Record<string, unknown>
    assert.equal(typeof idleStatus, 'object', `Status: ${JSON.stringify(idle)}`)
    assert.equal(idleStatus.base, base, `Status shows the base: ${JSON.stringify(idleStatus)}`)
    assert.equal(idleStatus.volatile, true, `Status shows volatile: ${JSON.stringify(idleStatus)}`)
    assert.equal(idleStatus.mounted, false, `Status shows not mounted: ${JSON.stringify(idleStatus)}`)
    assert.deepEqual(idleStatus.activeMounts, {}, `Status shows no active mounts: ${JSON.stringify(idleStatus)}`)

    const container = await e2e.startContainer(name, 'inspect-user')
    const busy = await e2e.inspect(name)
    assert.equal(busy.Mountpoint, e2e.layout.mountpoint(name))
    assert.equal(busy.CreatedAt, idle.CreatedAt, 'CreatedAt is stable')
    const busyStatus = busy.Status as Record<string, unknown>
    assert.equal(busyStatus.mounted, true, `Status shows mounted: ${JSON.stringify(busyStatus)}`)
    const records = e2e.records(name)
    assert.equal(records.length, 1)
    assert.deepEqual(busyStatus.activeMounts, {[records[0]]: 1}, `Status shows the active mount ID and its count: ${JSON.stringify(busyStatus)}`)

    await dockerOk(['rm', '-f', container])
    await e2e.waitFor('the volume to be unmounted', () => e2e.overlays(name).length === 0)
    const again = await e2e.inspect(name)
    assert.equal(again.Mountpoint, '')
  }))

  test('docker volume ls lists the volumes of the driver', {timeout: 60_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('ls')
    const one = await e2e.createVolume('ls-one', {base})
    const two = await e2e.createVolume('ls-two', {base, volatile: 'true'})
    const listed = await dockerOk(['volume', 'ls', '--format', '{{.Driver}} {{.Name}}'])
    const lines = listed.split('\n')
    assert.ok(lines.includes(`${e2e.driver} ${one}`), listed)
    assert.ok(lines.includes(`${e2e.driver} ${two}`), listed)
    const filtered = (await dockerOk(['volume', 'ls', '-q', '--filter', `driver=${e2e.driver}`])).split('\n')
    assert.ok(filtered.includes(one) && filtered.includes(two), filtered.join(' '))
    for (const refused of refusedNames) assert.ok(!lines.some((l) => l.endsWith(` ${refused}`)), `dockerd lists the refused volume ${refused}`)
  }))

  test('docker volume rm is refused while a container references the volume, and works after', {timeout: 90_000}, e2e.withLog(async () => {
    const base = e2e.tmp.base('rm', {'keep.txt': 'keep'})
    const name = await e2e.createVolume('rm', {base})
    const running = await e2e.startContainer(name, 'rm-running', 'echo x > /data/x.txt; exec sleep 600')
    // A stopped container references the volume too.
    const stopped = e2e.name('rm-stopped')
    await dockerOk(e2e.runArgs(name, 'true', {detach: true, name: stopped}))
    await dockerOk(['wait', stopped])

    const refused = await docker(['volume', 'rm', name])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /volume is in use/)
    assert.ok(fs.existsSync(e2e.layout.volume(name)), 'the plugin still has the volume')
    assert.equal(await e2e.exec(running, 'cat /data/x.txt'), 'x', 'the running container keeps its data')

    await dockerOk(['rm', '-f', running])
    assert.match((await docker(['volume', 'rm', name])).stderr, /volume is in use/, 'still referenced by the stopped one')
    await dockerOk(['rm', stopped])
    await e2e.waitFor('the volume to be unmounted', () => e2e.overlays(name).length === 0)
    await dockerOk(['volume', 'rm', name])
    assert.notEqual((await docker(['volume', 'inspect', name])).code, 0, 'dockerd forgot the volume')
    assert.ok(!fs.existsSync(e2e.layout.volume(name)), 'the plugin removed the volume')
    assert.equal(fs.readFileSync(`${base}/keep.txt`, 'utf8'), 'keep', 'the base is untouched')
  }))
}
