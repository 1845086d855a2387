import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import type {Finding} from '../../src/core/repair/reconcile.js'
import {type DotResult, parseJson} from '../helpers/run-dot.js'

/**
 * After a crash: `dot gc` reports and repairs exactly `expected` (problems, in order), a second gc
 * finds nothing, and no scratch entry is left in `root`.
 */
export async function assertGcRepairs(dot: (args: string[]) => Promise<DotResult>, root: string, expected: string[]): Promise<void> {
  const gc = await dot(['gc', '--json'])
  assert.equal(gc.code, 0, gc.stderr)
  const {findings} = parseJson(gc) as {findings: Finding[]}
  assert.deepEqual(findings.map((f) => f.problem), expected, JSON.stringify(findings, null, 2))
  assert.ok(findings.every((f) => f.status === 'repaired'), JSON.stringify(findings, null, 2))
  assert.deepEqual((parseJson(await dot(['gc', '--json'])) as {findings: Finding[]}).findings, [], 'a second gc finds nothing')
  assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-')), [])
}

/**
 * The state a crash case starts from: no volume (`none`), a volume holding one change (`changed`), or
 * that volume still mounted under the ID `crash` (`mounted`).
 */
export async function prepareVolume(ok: (args: string[]) => Promise<string>, create: string[], mountpoint: string, setup: 'none' | 'changed' | 'mounted'): Promise<void> {
  if (setup === 'none') return
  await ok(create)
  await ok(['mount', 'v', '--id', 'crash'])
  fs.writeFileSync(path.join(mountpoint, 'change.txt'), 'a change to keep\n')
  if (setup === 'changed') await ok(['unmount', 'v', '--id', 'crash'])
}
