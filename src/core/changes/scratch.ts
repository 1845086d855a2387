import {closeSync} from 'node:fs'
import fs from 'node:fs/promises'

import {busy} from '../errors.js'
import {tryLockDir} from '../kernel/flock.js'
import type {Layout} from '../disk/layout.js'
import type {Logger} from '../logger.js'

/**
 * Runs `task` in a fresh `<root>/.tmp-<label>-<rand>/` directory, flocked while it runs so that a
 * `dot gc` in another process skips it; deleted afterwards (after a crash, the sweep of `.tmp-*`
 * unmounts whatever is mounted inside and deletes it).
 */
export async function lockedScratch<T>(store: {layout: Layout; logger: Logger}, label: string, task: (dir: string) => Promise<T>): Promise<T> {
  const dir = store.layout.scratch('tmp', label)
  await fs.mkdir(store.layout.root, {recursive: true, mode: 0o711})
  await fs.mkdir(dir, {mode: 0o700})
  const lock = tryLockDir(dir)
  if (lock === undefined) throw busy(`a concurrent dot gc took the scratch directory ${dir}; try again`)
  try {
    return await task(dir)
  } finally {
    await fs.rm(dir, {recursive: true, force: true}).catch((err: Error) => store.logger.warn(`deleting ${dir}: ${err.message} (dot gc will retry)`))
    closeSync(lock)
  }
}
