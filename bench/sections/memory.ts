import type {Bench} from '../context.js'
import {Scratch, writeVolumes} from '../fixtures.js'
import {PluginClient} from '../plugin-client.js'
import {startServe} from '../serve-process.js'

const CONNECTIONS = 8

/**
 * RSS of `dot serve` idle, then while it answers 100,000 requests (8 keep-alive connections; a mix of
 * the hot read paths: Get, List, Capabilities, Get of an unknown name, and Mount/Unmount pairs of one
 * volume), sampled every tenth of the way. Growth beyond noise would be a leak.
 */
export async function memory(bench: Bench): Promise<void> {
  const total = bench.n(100_000, 10_000)
  const scratch = new Scratch('memory')
  const names = writeVolumes(scratch.root, scratch.base, 100)
  const serve = await startServe(scratch.root, scratch.path('plugin.sock'))
  const client = new PluginClient(serve.socket, CONNECTIONS)
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const idle = [serve.rssMiB()]
    const calls: [string, (i: number) => unknown][] = [
      ['VolumeDriver.Get', (i) => ({Name: names[i % names.length]})],
      ['VolumeDriver.List', () => ({})],
      ['VolumeDriver.Capabilities', () => ({})],
      ['VolumeDriver.Get', (i) => ({Name: `unknown-${i % 1000}`})],
      ['Plugin.Activate', () => undefined],
    ]
    const checkpoints: number[] = []
    let next = 0
    const start = performance.now()
    const worker = async (w: number) => {
      for (;;) {
        const i = next++
        if (i >= total) return
        // Every 50th request per worker is a Mount/Unmount pair on the worker's own volume.
        if (i % 50 === 0) {
          await client.ok('VolumeDriver.Mount', {Name: names[w], ID: `memory-${w}`})
          await client.ok('VolumeDriver.Unmount', {Name: names[w], ID: `memory-${w}`})
        } else {
          const [method, body] = calls[i % calls.length]
          await client.call(method, body(i))
        }
        if ((i + 1) % (total / 10) === 0) checkpoints.push(serve.rssMiB())
      }
    }
    await Promise.all(Array.from({length: CONNECTIONS}, (_, w) => worker(w)))
    const seconds = (performance.now() - start) / 1000
    bench.add('memory.rss-idle', 'RSS of dot serve, idle (100 volumes)', idle, {unit: 'MiB'})
    bench.add('memory.rss-load', `RSS during ${total.toLocaleString('en')} requests (10 checkpoints)`, checkpoints, {unit: 'MiB'})
    bench.add('memory.rss-after', `RSS after ${total.toLocaleString('en')} requests`, [serve.rssMiB()], {unit: 'MiB'})
    bench.note(`memory: ${total} requests on ${CONNECTIONS} connections in ${seconds.toFixed(1)} s (${Math.round(total / seconds)} req/s); RSS at checkpoints ${checkpoints.map((c) => c.toFixed(0)).join(', ')} MiB`)
  } finally {
    client.close()
    await serve.stop()
    scratch.cleanup()
  }
}
