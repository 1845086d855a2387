import path from 'node:path'

import type {Bench} from '../context.js'
import {overlaysOn, Scratch} from '../fixtures.js'
import {PluginClient} from '../plugin-client.js'
import {startServe} from '../serve-process.js'
import {mountId} from './protocol.js'

const CONCURRENT = 32

/**
 * 32 Mounts with distinct IDs on one volume sent at once, each on its own connection (as dockerd
 * does for 32 containers starting together), then their 32 Unmounts at once: wall time of each burst.
 * Checks after every burst that exactly one overlay is mounted (while in use) and none after.
 */
export async function concurrency(bench: Bench): Promise<void> {
  const rounds = bench.n(20, 5)
  const scratch = new Scratch('concurrency')
  const serve = await startServe(scratch.root, scratch.path('plugin.sock'))
  const client = new PluginClient(serve.socket, CONCURRENT)
  try {
    await client.ok('VolumeDriver.Create', {Name: 'shared', Opts: {base: scratch.base}})
    const mountpoint = path.join(scratch.root, 'shared', 'mountpoint')
    // Open all 32 connections before timing.
    await Promise.all(Array.from({length: CONCURRENT}, () => client.ok('Plugin.Activate')))
    const mounts: number[] = []
    const unmounts: number[] = []
    for (let round = 0; round < rounds + 1; round++) {
      const ids = Array.from({length: CONCURRENT}, () => mountId())
      let t = performance.now()
      const answers = await Promise.all(ids.map((ID) => client.ok('VolumeDriver.Mount', {Name: 'shared', ID})))
      const mountMs = performance.now() - t
      const during = overlaysOn(mountpoint)
      if (during !== 1) throw new Error(`after 32 concurrent Mounts ${during} overlays are mounted on ${mountpoint}; expected exactly 1`)
      if (answers.some((a) => a.Mountpoint !== mountpoint)) throw new Error(`a Mount answered another mountpoint than ${mountpoint}`)
      t = performance.now()
      await Promise.all(ids.map((ID) => client.ok('VolumeDriver.Unmount', {Name: 'shared', ID})))
      const unmountMs = performance.now() - t
      const after = overlaysOn(mountpoint)
      if (after !== 0) throw new Error(`after the 32 Unmounts ${after} overlay(s) are still mounted on ${mountpoint}`)
      // The first round warms up (connections, JIT) and is not counted.
      if (round > 0) {
        mounts.push(mountMs)
        unmounts.push(unmountMs)
      }
    }
    bench.add('concurrency.mount-32', '32 concurrent Mounts, one volume (wall)', mounts, {note: 'exactly 1 overlay during, checked each round'})
    bench.add('concurrency.unmount-32', '32 concurrent Unmounts (wall)', unmounts, {note: '0 overlays after, checked each round'})
  } finally {
    client.close()
    await serve.stop()
    scratch.cleanup()
  }
}
