import {randomBytes} from 'node:crypto'

import {BareVolumes} from '../bare-volumes.js'
import type {Bench} from '../context.js'
import {Scratch} from '../fixtures.js'
import {RawPluginConnection} from '../plugin-client.js'
import {startServe} from '../serve-process.js'

/** A mount ID as dockerd makes them: 64 hex characters (docs/plugin-protocol.md §3.3). */
export function mountId(): string {
  return randomBytes(32).toString('hex')
}

/**
 * Each protocol call over a real unix socket to a `dot serve` on a scratch root, one keep-alive
 * connection, one call at a time: N creates, then N Gets, Lists, first Mounts (the real overlay mount),
 * second Mounts, non-last Unmounts, last Unmounts (the real unmount), Removes. Before every call a no-op
 * round trip (/Plugin.Activate) is timed on the same connection, and for the calls that make or drop
 * inodes their syscalls are made bare (BareVolumes), so the floors are measured side by side.
 */
export async function protocol(bench: Bench): Promise<void> {
  const n = bench.n(200, 50)
  const scratch = new Scratch('protocol')
  const serve = await startServe(scratch.root, scratch.path('plugin.sock'))
  const client = new RawPluginConnection(serve.socket)
  try {
    const names = Array.from({length: n}, (_, i) => `bench-${i}`)
    const first = names.map(() => mountId())
    const second = names.map(() => mountId())
    // Warm-up: JIT, the lock module, the FFI's worker thread.
    for (let i = 0; i < 20; i++) {
      await client.ok('Plugin.Activate')
      await client.ok('VolumeDriver.Create', {Name: `warm-${i}`, Opts: {base: scratch.base}})
      await client.ok('VolumeDriver.Get', {Name: `warm-${i}`})
      await client.ok('VolumeDriver.Mount', {Name: `warm-${i}`, ID: first[0]})
      await client.ok('VolumeDriver.Mount', {Name: `warm-${i}`, ID: second[0]})
      await client.ok('VolumeDriver.Unmount', {Name: `warm-${i}`, ID: second[0]})
      await client.ok('VolumeDriver.Unmount', {Name: `warm-${i}`, ID: first[0]})
      await client.ok('VolumeDriver.Remove', {Name: `warm-${i}`})
    }

    const noop: number[] = []
    // The syscall floor of an operation, timed right before each call (see BareVolumes): the disk's
    // cost of an inode swings 30x within seconds here, so only side by side does it compare.
    const bare = new BareVolumes(scratch.path('bare'), scratch.base)
    type Floor = {key: string; label: string; op: (i: number) => number}
    const phase = async (key: string, label: string, method: string, body: (i: number) => unknown, floor?: Floor) => {
      // A pause first, so that the previous phase's background work (200 new volumes being flushed,
      // 200 removed ones deleted, the kernel's writeback) is not charged to this one: dockerd sends
      // one Create, not 200 in a row. (Measured: right after 200 Creates the no-op round trip took
      // 0.11 ms without our flushes and 0.14 with them, against 0.06-0.08 once the machine was quiet.)
      await new Promise((resolve) => setTimeout(resolve, bench.n(1000, 300)))
      const samples: number[] = []
      const floorSamples: number[] = []
      for (let i = 0; i < n; i++) {
        let t = performance.now()
        await client.ok('Plugin.Activate')
        noop.push(performance.now() - t)
        if (floor) floorSamples.push(floor.op(i))
        t = performance.now()
        await client.ok(method, body(i))
        samples.push(performance.now() - t)
      }
      return () => {
        if (floor) bench.add(floor.key, floor.label, floorSamples)
        bench.add(key, label, samples)
      }
    }
    const rows = [
      await phase('protocol.create', 'Create', 'VolumeDriver.Create', (i) => ({Name: names[i], Opts: {base: scratch.base}}), {
        key: 'protocol.floor-create',
        label: "Create's syscalls alone (3 mkdir, metadata.json, rename)",
        op: (i) => bare.create(i),
      }),
      await phase('protocol.get', 'Get', 'VolumeDriver.Get', (i) => ({Name: names[i]})),
      await phase('protocol.list', `List (${n} volumes)`, 'VolumeDriver.List', () => ({})),
      await phase('protocol.mount-first', 'Mount, first (mounts the overlay)', 'VolumeDriver.Mount', (i) => ({Name: names[i], ID: first[i]}), {
        key: 'protocol.floor-mount-first',
        label: "first Mount's syscalls alone (2 mkdir, mount(2), a record)",
        op: (i) => bare.mountFirst(i),
      }),
      await phase('protocol.mount-second', 'Mount, second (already mounted)', 'VolumeDriver.Mount', (i) => ({Name: names[i], ID: second[i]}), {
        key: 'protocol.floor-mount-second',
        label: "second Mount's syscalls alone (a record)",
        op: (i) => bare.mountSecond(i),
      }),
      await phase('protocol.unmount-nonlast', 'Unmount, not last', 'VolumeDriver.Unmount', (i) => ({Name: names[i], ID: second[i]}), {
        key: 'protocol.floor-unmount-nonlast',
        label: "non-last Unmount's syscalls alone (unlink a record)",
        op: (i) => bare.unmountNonLast(i),
      }),
      await phase('protocol.unmount-last', 'Unmount, last (unmounts the overlay)', 'VolumeDriver.Unmount', (i) => ({Name: names[i], ID: first[i]}), {
        key: 'protocol.floor-unmount-last',
        label: "last Unmount's syscalls alone (unlink a record, umount2(2))",
        op: (i) => bare.unmountLast(i),
      }),
      await phase('protocol.remove', 'Remove', 'VolumeDriver.Remove', (i) => ({Name: names[i]})),
    ]
    bench.add('protocol.noop', 'no-op round trip (/Plugin.Activate)', noop)
    for (const add of rows) add()
  } finally {
    client.close()
    await serve.stop()
    scratch.cleanup()
  }
}
