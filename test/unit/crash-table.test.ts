import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {test} from 'node:test'

import {CRASH_POINTS} from '../../src/core/disk/crash-points.js'
import {REPO} from '../helpers/run-dot.js'

/** The crash-protocol table at the top of crash-points.ts has a row for every crash point there is. */
test('every crash point has a row in the crash-protocol table', () => {
  const source = fs.readFileSync(path.join(REPO, 'src/core/disk/crash-points.ts'), 'utf8')
  const rows = new Set([...source.matchAll(/^ \* \| [^|]*\| ([a-z-]+:[a-z-]+)[^|]*\|/gm)].map((m) => m[1]))
  assert.deepEqual(CRASH_POINTS.filter((point) => !rows.has(point)), [])
})
