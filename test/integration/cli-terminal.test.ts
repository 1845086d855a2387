import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, test} from 'node:test'

import {assertRoot, MANDATORY, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

const hasTmux = spawnSync('tmux', ['-V']).status === 0

/**
 * `dot ls` and `dot gc` in a real terminal (tmux, at a set width): every line fits, with USERS as a
 * count and 12-character IDs and BASE shortened in the middle; a pipe and --json keep full values.
 */
describe('CLI in a terminal: the tables fit its width', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-terminal-')
  const server = `dot-test-${randomBytes(4).toString('hex')}`
  const ids = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex'), randomBytes(32).toString('hex')]
  const longBase = () => tmp.base(`a-rather-long-directory-name-for-a-dataset/with/several/levels/of/nesting/${'x'.repeat(40)}`, {'f.txt': 'base\n'})
  const dot = async (...args: string[]) => {
    const result = await runDot([...args, '--root', tmp.root])
    assert.equal(result.code, 0, result.stderr)
    return result.stdout
  }

  /** Runs a dot command in a fresh tmux window `width` columns wide; returns the screen, wrapped lines joined. */
  const inTerminal = async (width: number, args: string[]): Promise<string[]> => {
    const session = `w${width}-${randomBytes(2).toString('hex')}`
    const command = `${process.execPath} ${DOT_BIN} ${args.join(' ')} --root ${tmp.root}; echo __DONE__; sleep 60`
    execFileSync('tmux', ['-L', server, 'new-session', '-d', '-s', session, '-x', String(width), '-y', '60', `env NO_COLOR=1 ${command}`])
    try {
      for (let i = 0; i < 200; i++) {
        const screen = execFileSync('tmux', ['-L', server, 'capture-pane', '-p', '-J', '-t', session], {encoding: 'utf8'})
        if (screen.includes('__DONE__')) return screen.slice(0, screen.indexOf('__DONE__')).trimEnd().split('\n')
        await sleep(100)
      }
      throw new Error(`dot ${args.join(' ')} did not finish in the terminal`)
    } finally {
      spawnSync('tmux', ['-L', server, 'kill-session', '-t', session])
    }
  }

  before(async () => {
    assertRoot()
    if (!hasTmux && MANDATORY) throw new Error('required test cannot run: needs tmux (apt-get install tmux)')
    if (!hasTmux) return
    await dot('create', 'busy-volume-with-a-long-name', '--base', longBase())
    for (const id of ids) await dot('mount', 'busy-volume-with-a-long-name', '--id', id)
    await dot('mount', 'busy-volume-with-a-long-name')
    await dot('create', 'empty', '--base', tmp.base('small'))
    await dot('create', 'scratch', '--base', tmp.base('small'), '--volatile')
    const mountpoint = (await dot('mount', 'scratch')).trim()
    fs.writeFileSync(path.join(mountpoint, 'left-by-the-last-run'), 'x'.repeat(10_000))
    await dot('unmount', 'scratch')
    // Something for gc to report, with a long path.
    fs.mkdirSync(path.join(tmp.root, `.tmp-${'interrupted-create-'.repeat(4)}`))
  })
  after(() => {
    spawnSync('tmux', ['-L', server, 'kill-server'])
    tmp.cleanup()
  })

  for (const width of [80, 160]) {
    test(`dot ls at ${width} columns: one line per volume, each within the width`, async (t) => {
      if (!hasTmux) return t.skip('needs tmux')
      const lines = await inTerminal(width, ['ls'])
      assert.equal(lines.length, 5, lines.join('\n'))
      for (const line of lines) assert.ok([...line].length <= width, `${[...line].length} > ${width}: ${line}`)
      assert.match(lines[0], /^NAME +BASE +VOLATILE +STATE +USERS +SNAP(SHOT)?S +CHANGES +CREATED$/)
      const busy = lines.find((l) => l.includes('mounted'))!
      assert.match(busy, width === 80 ? / 4: [0-9a-f]{4,12}…? / : / 4: [0-9a-f]{12}, [0-9a-f]{12}, [0-9a-f]{12}, manual /, 'USERS: the count, then 12-character IDs')
      for (const id of ids) assert.ok(!busy.includes(id.slice(0, 13)), 'no ID longer than 12 characters')
      assert.match(busy, / \/tmp\/[^ ]*…[^ ]*x /, 'BASE is shortened in the middle')
      assert.match(lines.find((l) => l.startsWith('empty'))!, / 0 B /, "an empty volume's CHANGES is 0")
      assert.match(lines.find((l) => l.startsWith('scratch'))!, / yes\* +idle /, 'a volatile volume with changes is marked')
      assert.match(lines[4], /^\* volatile: its changes are wiped at its next first mount/)
    })
  }

  test('dot ls --no-trunc, a pipe and --json keep every value in full', async (t) => {
    if (!hasTmux) return t.skip('needs tmux')
    const full = await inTerminal(80, ['ls', '--no-trunc'])
    assert.ok(full.some((l) => l.includes(ids[0])))
    const piped = await dot('ls')
    for (const id of ids) assert.ok(piped.includes(id), 'a pipe gets whole IDs')
    assert.ok(piped.includes(`${'x'.repeat(40)}`), 'and the whole base')
    const json = parseJson(await runDot(['ls', '--json', '--root', tmp.root])) as {name: string; changesBytes: number; wipeAtNextMount: boolean}[]
    const byName = Object.fromEntries(json.map((v) => [v.name, v]))
    assert.equal(byName.empty.changesBytes, 0)
    assert.equal(byName.scratch.wipeAtNextMount, true)
    assert.equal(byName.empty.wipeAtNextMount, false)
  })

  test('dot gc --dry-run at 80 columns: its table fits too', async (t) => {
    if (!hasTmux) return t.skip('needs tmux')
    const lines = await inTerminal(80, ['gc', '--dry-run'])
    assert.match(lines[0], /^VOLUME +PROBLEM +ACTION +PATH$/)
    assert.ok(lines.length > 1)
    for (const line of lines) assert.ok([...line].length <= 80, `${[...line].length} > 80: ${line}`)
    const piped = await dot('gc', '--dry-run')
    assert.ok(piped.includes(`.tmp-${'interrupted-create-'.repeat(4)}`), 'a pipe gets the whole path')
  })
})
