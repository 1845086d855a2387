import fs from 'node:fs'
import path from 'node:path'

import {overlaysOn} from '../fixtures.js'
import {RawPluginConnection} from '../plugin-client.js'
import {mountId} from '../sections/protocol.js'
import {type Implementation, RunningServer} from './implementation.js'

/** How much one round does (quick: a smoke run). */
export interface SuiteSizes {
  n: number
  stormSize: number
  storms: number
  sizes: number[]
  listReps: number
  getReps: number
  startupReps: number
}

/** One round's samples, ms, by metric; `failures` lists every check that did not hold. */
export interface RoundResult {
  samples: Record<string, number[]>
  failures: string[]
}

const POPULATE_CONNECTIONS = 4

/**
 * One round against one implementation, on a fresh root, in the shared harness's order and with its
 * shapes: the no-op round trip; N life cycles (Create, Get, List, first and second Mount, non-last
 * and last Unmount, Remove; the overlay counted after each step); storms of concurrent Mounts and
 * Unmounts of one volume; List and Get with 1,000 and 10,000 volumes created through the protocol;
 * start-up on that full root. Timed around each call on one kept-alive connection.
 */
export async function runRound(impl: Implementation, dir: string, sizes: SuiteSizes): Promise<RoundResult> {
  const samples: Record<string, number[]> = {}
  const failures: string[] = []
  const add = (metric: string, ms: number) => (samples[metric] ??= []).push(ms)
  const check = (ok: boolean, what: string) => ok || failures.push(`${impl.label}: ${what}`)
  const root = path.join(dir, 'root')
  const base = path.join(dir, 'base')
  fs.mkdirSync(root, {recursive: true})
  fs.mkdirSync(base, {recursive: true})
  fs.writeFileSync(path.join(base, 'marker'), 'versus\n')
  const socket = path.join(dir, 'plugin.sock')
  const log = path.join(dir, 'plugin.log')
  let server = await RunningServer.start(impl, root, socket, log)
  const client = new RawPluginConnection(socket)
  const timed = async (metric: string, method: string, body?: unknown) => {
    const started = performance.now()
    const reply = await client.call(method, body)
    add(metric, performance.now() - started)
    const err = reply.body.Err
    check(reply.status === 200 && !(typeof err === 'string' && err !== ''), `${method}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`)
    return reply.body
  }
  try {
    await client.ok('Plugin.Activate')
    for (let i = 0; i < sizes.n; i++) await timed('noop', 'Plugin.Activate')
    for (let i = 0; i < sizes.n; i++) {
      const name = `vs-${impl.label}-a${i}`
      const [first, second] = [mountId(), mountId()]
      await timed('create', 'VolumeDriver.Create', {Name: name, Opts: {base}})
      await timed('get', 'VolumeDriver.Get', {Name: name})
      await timed('list', 'VolumeDriver.List', {})
      // path.resolve: the Go original answers with a trailing slash.
      const mountpoint = path.resolve(String((await timed('mount-first', 'VolumeDriver.Mount', {Name: name, ID: first})).Mountpoint ?? ''))
      check(overlaysOn(mountpoint) === 1 && fs.existsSync(path.join(mountpoint, 'marker')), 'first Mount: not mounted exactly once with the base visible')
      await timed('mount-second', 'VolumeDriver.Mount', {Name: name, ID: second})
      check(overlaysOn(mountpoint) === 1, 'second Mount: not mounted exactly once')
      await timed('unmount-nonlast', 'VolumeDriver.Unmount', {Name: name, ID: second})
      check(overlaysOn(mountpoint) === 1, 'non-last Unmount: not mounted exactly once')
      await timed('unmount-last', 'VolumeDriver.Unmount', {Name: name, ID: first})
      check(overlaysOn(mountpoint) === 0, 'last Unmount: still mounted')
      await timed('remove', 'VolumeDriver.Remove', {Name: name})
    }
    await storms(socket, impl.label, base, sizes, add, check)
    const made: string[] = []
    for (const size of sizes.sizes) {
      const names = Array.from({length: size - made.length}, (_, i) => `vs-${impl.label}-p${String(made.length + i).padStart(5, '0')}`)
      await bulk(socket, names, (name) => ({Name: name, Opts: {base}}), check)
      made.push(...names)
      const reps = size <= 1000 ? sizes.listReps : Math.max(5, Math.floor(sizes.listReps / 3))
      for (let i = 0; i < reps; i++) {
        const body = await timed(`list-${size}`, 'VolumeDriver.List', {})
        check(((body.Volumes as unknown[]) ?? []).length >= size, `List at ${size}: fewer volumes than created`)
      }
      for (let i = 0; i < sizes.getReps; i++) await timed(`get-${size}`, 'VolumeDriver.Get', {Name: made[(i * 7919) % made.length]})
    }
    client.close()
    for (let i = 0; i < sizes.startupReps; i++) {
      await server.stop()
      server = await RunningServer.start(impl, root, socket, log)
      add(`startup-${made.length}`, server.startupMs)
    }
  } finally {
    client.close()
    await server.stop()
  }
  return {samples, failures}
}

/** Storms: `stormSize` Mounts with distinct IDs of one volume at once (one connection each), then their Unmounts. */
async function storms(
  socket: string,
  label: string,
  base: string,
  sizes: SuiteSizes,
  add: (metric: string, ms: number) => void,
  check: (ok: boolean, what: string) => void,
): Promise<void> {
  const setup = new RawPluginConnection(socket)
  const name = `vs-${label}-conc`
  await setup.ok('VolumeDriver.Create', {Name: name, Opts: {base}})
  for (let round = 0; round < sizes.storms; round++) {
    const ids = Array.from({length: sizes.stormSize}, () => mountId())
    const connections = ids.map(() => new RawPluginConnection(socket))
    await Promise.all(connections.map((c) => c.ok('Plugin.Activate'))) // connected outside the timed region
    let started = performance.now()
    const mountpoints = await Promise.all(connections.map((c, i) => c.ok('VolumeDriver.Mount', {Name: name, ID: ids[i]}).then((b) => path.resolve(String(b.Mountpoint)))))
    add('storm-mount', performance.now() - started)
    check(new Set(mountpoints).size === 1 && overlaysOn(mountpoints[0]) === 1, 'storm: not one overlay after the Mounts')
    started = performance.now()
    await Promise.all(connections.map((c, i) => c.ok('VolumeDriver.Unmount', {Name: name, ID: ids[i]})))
    add('storm-unmount', performance.now() - started)
    check(overlaysOn(mountpoints[0]) === 0, 'storm: still mounted after the Unmounts')
    for (const c of connections) c.close()
  }
  await setup.ok('VolumeDriver.Remove', {Name: name})
  setup.close()
}

/** Creates `names` over POPULATE_CONNECTIONS connections (the shared harness uses as many threads). */
async function bulk(socket: string, names: string[], body: (name: string) => unknown, check: (ok: boolean, what: string) => void): Promise<void> {
  await Promise.all(
    Array.from({length: POPULATE_CONNECTIONS}, async (_, k) => {
      const connection = new RawPluginConnection(socket)
      try {
        for (let i = k; i < names.length; i += POPULATE_CONNECTIONS) {
          const reply = await connection.call('VolumeDriver.Create', body(names[i]))
          check(!reply.body.Err, `bulk Create: ${String(reply.body.Err)}`)
        }
      } finally {
        connection.close()
      }
    }),
  )
}
