import {randomBytes} from 'node:crypto'

import {VolumeStore} from '../../src/core/volume/store.js'
import type {Bench} from '../context.js'
import {Scratch} from '../fixtures.js'

/**
 * The store called in process, no HTTP: what each operation costs before the protocol adds its round
 * trip. The difference to the protocol rows is the server's share; to the floors, the store's.
 */
export async function core(bench: Bench): Promise<void> {
  const n = bench.n(200, 50)
  const scratch = new Scratch('core')
  const store = await VolumeStore.open({root: scratch.root})
  try {
    const names = Array.from({length: n}, (_, i) => `core-${i}`)
    const idA = names.map(() => randomBytes(32).toString('hex'))
    const idB = names.map(() => randomBytes(32).toString('hex'))
    // Warm-up: load the mounter and the lock module, fault in the code paths.
    await store.create('warm', {base: scratch.base})
    await store.mount('warm', idA[0])
    await store.unmount('warm', idA[0])
    await store.remove('warm')

    const phase = async (key: string, label: string, op: (i: number) => Promise<unknown>) => {
      const samples: number[] = []
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        await op(i)
        samples.push(performance.now() - t)
      }
      bench.add(key, label, samples)
    }
    await phase('core.create', 'store.create', (i) => store.create(names[i], {base: scratch.base}))
    await phase('core.get', 'store.get', (i) => store.get(names[i]))
    await phase('core.list-brief', `store.listBrief (${n} volumes)`, () => store.listBrief())
    await phase('core.mount-first', 'store.mount, first (mounts the overlay)', (i) => store.mount(names[i], idA[i]))
    await phase('core.mount-second', 'store.mount, second', (i) => store.mount(names[i], idB[i]))
    await phase('core.unmount-nonlast', 'store.unmount, not last', (i) => store.unmount(names[i], idB[i]))
    await phase('core.unmount-last', 'store.unmount, last (unmounts)', (i) => store.unmount(names[i], idA[i]))
    await phase('core.remove', 'store.remove', (i) => store.remove(names[i]))
  } finally {
    await store.close()
    scratch.cleanup()
  }
}
