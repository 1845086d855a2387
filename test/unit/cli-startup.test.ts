import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {runDot} from '../helpers/run-dot.js'

/**
 * `dot --version` and `dot ls -q` run in scripts and loops: they must not load the table and colour
 * libraries or the FFI. A module resolve hook (node --import) logs every module the
 * real CLI resolves; `dot ls` (which renders a table) proves the hook sees those libraries at all.
 */
const HEAVY = ['chalk', 'cli-table3', 'koffi', 'execa']

let dir: string

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-startup-'))
  fs.writeFileSync(path.join(dir, 'register.mjs'), "import {register} from 'node:module'\nregister('./hooks.mjs', import.meta.url)\n")
  fs.writeFileSync(
    path.join(dir, 'hooks.mjs'),
    [
      "import fs from 'node:fs'",
      'export async function resolve(specifier, context, next) {',
      '  const result = await next(specifier, context)',
      "  fs.appendFileSync(process.env.DOT_LOAD_LOG, result.url + '\\n')",
      '  return result',
      '}',
    ].join('\n'),
  )
})
after(() => fs.rmSync(dir, {recursive: true, force: true}))

async function packagesLoaded(args: string[]): Promise<Set<string>> {
  const log = path.join(dir, `log-${args.join('_').replace(/\W/g, '')}`)
  const result = await runDot([...args], {
    env: {NODE_OPTIONS: `--import=${path.join(dir, 'register.mjs')}`, DOT_LOAD_LOG: log},
  })
  assert.equal(result.code, 0, result.stderr)
  const urls = fs.readFileSync(log, 'utf8').split('\n')
  return new Set(urls.map((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((p): p is string => p !== undefined))
}

describe('CLI start-up: heavy modules are loaded only by the commands that use them', () => {
  test('dot --version loads none of them, nor oclif (bin/run.js answers it from package.json)', async () => {
    // The log exists only if the hook saw the CLI resolve something (node:fs), so the hook did run.
    const loaded = await packagesLoaded(['--version'])
    for (const name of [...HEAVY, '@oclif/core']) assert.ok(!loaded.has(name), `--version loaded ${name}`)
  })

  test('dot ls -q loads none of them', async () => {
    const loaded = await packagesLoaded(['ls', '-q', '--root', path.join(dir, 'root')])
    for (const name of HEAVY) assert.ok(!loaded.has(name), `ls -q loaded ${name}`)
  })

  test('dot ls loads chalk and cli-table3 (to render), still not the FFI', async () => {
    const loaded = await packagesLoaded(['ls', '--root', path.join(dir, 'root')])
    assert.ok(loaded.has('chalk') && loaded.has('cli-table3'), [...loaded].join(' '))
    for (const name of ['koffi', 'execa']) assert.ok(!loaded.has(name), `ls loaded ${name}`)
  })
})
