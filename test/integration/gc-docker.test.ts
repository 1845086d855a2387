import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import {after, before, describe, test} from 'node:test'

import type {Finding} from '../../src/core/repair/reconcile.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {docker, dockerOk, ensureTestImage, removeTestImage, TEST_IMAGE} from '../e2e/harness/docker.js'
import {assertDocker, dockerHost, dockerOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount} from './store-fixtures.js'

/** A dockerd mount ID: 64 hex digits. */
const dockerId = () => randomBytes(32).toString('hex')

/**
 * `dot gc` against a real dockerd: volumes holding records of dockerd mounts that no container
 * explains (what a dockerd killed with running containers leaves) are reported, and repaired only
 * with --stale. dockerd's answer is matched by volume name, so a container using a `local` volume of
 * the same name stands for a container using ours (no plugin needed here; the e2e tests run the plugin).
 */
describe('dot gc --stale with a real dockerd', dockerOnly(), () => {
  const tmp = new TempRoot('dot-test-gc-docker-')
  const tag = `dotgc${randomBytes(3).toString('hex')}`
  const names = {used: `${tag}-used`, stale: `${tag}-stale`, mixed: `${tag}-mixed`, exited: `${tag}-exited`}
  const containers = [`${tag}-running`, `${tag}-exited`]
  const ids = {used: dockerId(), stale: dockerId(), mixed: dockerId(), exited: dockerId()}
  let store: VolumeStore
  const gc = async (...args: string[]) => {
    // --grace 0: the records are seconds old, and judged at once.
    const result = await runDot(['gc', '--json', '--grace', '0', ...args, '--root', tmp.root], {env: {DOCKER_HOST: dockerHost()!}})
    assert.equal(result.code, 0, result.stderr)
    return parseJson(result) as {findings: Finding[]; docker: {checked: boolean; containers: number}}
  }
  const summary = (findings: Finding[]) => Object.fromEntries(findings.map((f) => [f.volume, `${f.status}: ${f.action}`]))

  before(async () => {
    assertDocker()
    await ensureTestImage()
    store = await VolumeStore.open({root: tmp.root})
    const base = tmp.base('b', {f: 'x'})
    for (const [key, name] of Object.entries(names)) {
      await store.create(name, {base})
      await store.mount(name, ids[key as keyof typeof ids])
    }
    await store.mount(names.mixed, 'manual')
    await dockerOk(['run', '-d', '--network', 'none', '--name', containers[0], '-v', `${names.used}:/x`, TEST_IMAGE, 'sleep', '600'])
    await dockerOk(['run', '--network', 'none', '--name', containers[1], '-v', `${names.exited}:/x`, TEST_IMAGE, 'true'])
  })
  after(async () => {
    // The mounts go even when dockerd does not answer (a docker call that times out throws).
    try {
      await docker(['rm', '-f', ...containers])
      await docker(['volume', 'rm', '-f', names.used, names.exited])
      await removeTestImage()
    } finally {
      tmp.cleanup()
    }
  })

  test('reported without --stale; --dry-run changes nothing', async () => {
    const plain = await gc()
    assert.equal(plain.docker.checked, true)
    assert.ok(plain.docker.containers >= 2)
    const reported = 'reported: left alone (dot gc --stale drops the records and unmounts)'
    assert.deepEqual(summary(plain.findings), {[names.stale]: reported, [names.mixed]: reported, [names.exited]: reported})
    assert.match(plain.findings.find((f) => f.volume === names.stale)!.problem, new RegExp(`\\(${ids.stale.slice(0, 12)}\\) but no mount namespace holds the overlay`))

    const dry = await gc('--stale', '--dry-run')
    assert.ok(dry.findings.every((f) => f.status === 'would-repair'))
    for (const name of Object.values(names)) assert.equal(overlayCount(store.layout.mountpoint(name)), 1)
  })

  test('--stale drops only dockerd records no container explains, and unmounts when none is left', async () => {
    const repaired = await gc('--stale')
    assert.deepEqual(summary(repaired.findings), {
      [names.stale]: 'repaired: records dropped and overlay unmounted',
      [names.mixed]: 'repaired: records dropped (other mounts remain: overlay kept)',
      [names.exited]: 'repaired: records dropped and overlay unmounted',
    })
    for (const name of [names.stale, names.exited]) {
      assert.equal(overlayCount(store.layout.mountpoint(name)), 0)
      assert.deepEqual(fs.readdirSync(store.layout.activeMounts(name)), [])
    }
    assert.deepEqual(fs.readdirSync(store.layout.activeMounts(names.mixed)), ['manual'], 'a mount made by hand is none of dockerd business')
    assert.equal(overlayCount(store.layout.mountpoint(names.mixed)), 1)
    assert.deepEqual(fs.readdirSync(store.layout.activeMounts(names.used)), [ids.used], 'the running container keeps its mount')
    assert.equal(overlayCount(store.layout.mountpoint(names.used)), 1)
    assert.deepEqual((await gc('--stale')).findings, [])
  })
})
