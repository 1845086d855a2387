import type {Bench} from '../context.js'
import {DOT_BIN} from '../context.js'
import {Scratch, writeVolumes} from '../fixtures.js'
import {RawPluginConnection} from '../plugin-client.js'
import {startServe} from '../serve-process.js'
import {type Launch, timeLaunches} from './cli.js'

/**
 * Many volumes in the root, written straight into the on-disk layout: List and Get with 1,000 and
 * 10,000 volumes, `dot serve` start-up (exec to first answered request) with 10,000, and `dot ls -q` /
 * `dot ls --json` as fresh processes with 1,000 and 10,000.
 */
export async function scale(bench: Bench): Promise<void> {
  const scratch = new Scratch('scale')
  try {
    let names = writeVolumes(scratch.root, scratch.base, 1000)
    await listAndGet(bench, scratch, names)
    names = names.concat(writeVolumes(scratch.root, scratch.base, 9000, 'more'))
    const startups: number[] = []
    for (let i = 0; i < bench.n(10, 3); i++) {
      const serve = await startServe(scratch.root, scratch.path('plugin.sock'))
      startups.push(serve.startupMs)
      await serve.stop()
    }
    bench.add('scale.startup-10000', 'dot serve start-up, 10,000 volumes (exec to first answer)', startups)
    await listAndGet(bench, scratch, names)
  } finally {
    scratch.cleanup()
  }
}

async function listAndGet(bench: Bench, scratch: Scratch, names: string[]): Promise<void> {
  const count = names.length
  const serve = await startServe(scratch.root, scratch.path('plugin.sock'))
  const client = new RawPluginConnection(serve.socket)
  try {
    const n = bench.n(count > 1000 ? 50 : 200, 10)
    for (let i = 0; i < 5; i++) await client.ok('VolumeDriver.List', {})
    const list: number[] = []
    const get: number[] = []
    for (let i = 0; i < n; i++) {
      let t = performance.now()
      const reply = await client.ok('VolumeDriver.List', {})
      list.push(performance.now() - t)
      if ((reply.Volumes as unknown[]).length !== count) throw new Error(`List answered ${(reply.Volumes as unknown[]).length} volumes, expected ${count}`)
      const name = names[Math.floor(Math.random() * count)]
      t = performance.now()
      await client.ok('VolumeDriver.Get', {Name: name})
      get.push(performance.now() - t)
    }
    bench.add(`scale.list-${count}`, `List, ${count.toLocaleString('en')} volumes`, list)
    bench.add(`scale.get-${count}`, `Get, ${count.toLocaleString('en')} volumes`, get)
  } finally {
    client.close()
    await serve.stop()
  }
  const env = {DOT_ROOT: scratch.root}
  const launches: Launch[] = [
    {key: `scale.ls-q-${count}`, label: `dot ls -q, ${count.toLocaleString('en')} volumes`, args: [DOT_BIN, 'ls', '-q'], env, expect: (out) => out.split('\n').filter(Boolean).length === count},
    {key: `scale.ls-json-${count}`, label: `dot ls --json, ${count.toLocaleString('en')} volumes`, args: [DOT_BIN, 'ls', '--json'], env, expect: (out) => (JSON.parse(out) as unknown[]).length === count},
  ]
  timeLaunches(bench, launches, bench.n(count > 1000 ? 10 : 20, count > 1000 ? 2 : 3))
}
