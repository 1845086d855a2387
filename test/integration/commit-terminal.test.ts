import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {after, before, describe, test} from 'node:test'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, MANDATORY, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {statSnapshot} from './recover-tree.js'

const hasTmux = spawnSync('tmux', ['-V']).status === 0

/**
 * `dot commit` as a person at a terminal meets it (tmux): without --yes it lists the changes and asks,
 * a long commit draws a progress bar; and --dry-run prints exactly what `dot diff` prints (odd names
 * quoted alike) and changes neither the base nor the changes.
 */
describe('dot commit on a terminal, and --dry-run', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-commit-terminal-')
  const server = `dot-test-${randomBytes(4).toString('hex')}`
  let store: VolumeStore
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root], {timeoutMs: 120_000})
  const bases: Record<string, string> = {}
  const unchanged = (name: string) => ({upper: statSnapshot(store.layout.upper(name)), base: statSnapshot(bases[name])})
  const volume = async (name: string, write: (mp: string) => void) => {
    bases[name] = tmp.base(name, {'a.txt': 'a\n', 'dir/b.txt': 'b\n'})
    await store.create(name, {base: bases[name]})
    const mp = await store.mount(name, 'setup')
    write(mp)
    await store.unmount(name, 'setup')
  }

  /** Runs `dot ARGS --root ...` in a tmux window; everything it writes is also logged raw (\r included). */
  const inTerminal = (args: string[]) => {
    const session = `c-${randomBytes(3).toString('hex')}`
    const log = path.join(tmp.dir, `${session}.log`)
    const command = `sleep 0.5; ${process.execPath} ${DOT_BIN} ${args.join(' ')} --root ${tmp.root}; echo __EXIT_$?__; sleep 60`
    execFileSync('tmux', ['-L', server, 'new-session', '-d', '-s', session, '-x', '100', '-y', '50', `env NO_COLOR=1 sh -c '${command}'`])
    execFileSync('tmux', ['-L', server, 'pipe-pane', '-o', '-t', session, `cat >> ${log}`])
    const screen = () => execFileSync('tmux', ['-L', server, 'capture-pane', '-p', '-J', '-t', session], {encoding: 'utf8'})
    return {
      screen,
      raw: () => (fs.existsSync(log) ? fs.readFileSync(log, 'latin1') : ''),
      type: (keys: string) => execFileSync('tmux', ['-L', server, 'send-keys', '-t', session, keys, 'Enter']),
      waitFor: async (pattern: RegExp) => {
        for (let i = 0; i < 600; i++) {
          const shown = screen()
          if (pattern.test(shown)) return shown
          await sleep(100)
        }
        throw new Error(`the terminal never showed ${pattern}:\n${screen()}`)
      },
      close: () => spawnSync('tmux', ['-L', server, 'kill-session', '-t', session]),
    }
  }

  before(async () => {
    assertRoot()
    if (!hasTmux && MANDATORY) throw new Error('required test cannot run: needs tmux (apt-get install tmux)')
    store = await VolumeStore.open({root: tmp.root})
  })
  after(() => {
    spawnSync('tmux', ['-L', server, 'kill-server'])
    tmp.cleanup()
  })

  test('--dry-run prints exactly the dot diff, odd names quoted alike, and changes nothing', async () => {
    await volume('dry', (mp) => {
      fs.writeFileSync(path.join(mp, 'new\nD forged'), 'a name with a newline\n')
      fs.writeFileSync(path.join(mp, 'a.txt'), 'changed\n')
      fs.rmSync(path.join(mp, 'dir'), {recursive: true})
    })
    const before_ = unchanged('dry')
    const diff = await dot('diff', 'dry')
    const dry = await dot('commit', 'dry', '--dry-run')
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(diff.stdout, /^A "\/new\\nD forged"$/m)
    assert.equal(dry.stdout, diff.stdout)
    assert.deepEqual(unchanged('dry'), before_)
  })

  test('without --yes it lists the changes and asks; "n" changes nothing, "y" commits', async (t) => {
    if (!hasTmux) return t.skip('needs tmux')
    await volume('ask', (mp) => {
      fs.writeFileSync(path.join(mp, 'asked.txt'), 'only with a yes\n')
      fs.rmSync(path.join(mp, 'a.txt'))
    })
    const before_ = unchanged('ask')
    const no = inTerminal(['commit', 'ask'])
    try {
      const asked = await no.waitFor(/\[y\/N\] $/m)
      assert.match(asked, /^ {2}A \/asked\.txt$/m)
      assert.match(asked, /^ {2}D \/a\.txt$/m)
      assert.match(asked, /Write these 2 changes of volume "ask" into its base\? \[y\/N\]/)
      no.type('n')
      const done = await no.waitFor(/__EXIT_\d+__/)
      assert.match(done, /cancelled; nothing was changed[\s\S]*__EXIT_2__/)
    } finally {
      no.close()
    }
    assert.deepEqual(unchanged('ask'), before_)
    const yes = inTerminal(['commit', 'ask'])
    try {
      await yes.waitFor(/\[y\/N\] $/m)
      yes.type('y')
      assert.match(await yes.waitFor(/__EXIT_\d+__/), /committed 2 changes of volume "ask"[\s\S]*__EXIT_0__/)
    } finally {
      yes.close()
    }
    assert.equal(fs.readFileSync(path.join(bases.ask, 'asked.txt'), 'utf8'), 'only with a yes\n')
    assert.ok(!fs.existsSync(path.join(bases.ask, 'a.txt')))
  })

  test('a long commit draws a progress bar on the terminal, and erases it when done', async (t) => {
    if (!hasTmux) return t.skip('needs tmux')
    await volume('long', (mp) => {
      const chunk = randomBytes(1024 * 1024)
      const fd = fs.openSync(path.join(mp, 'big.bin'), 'w')
      for (let i = 0; i < 256; i++) fs.writeSync(fd, chunk)
      fs.closeSync(fd)
    })
    const run = inTerminal(['commit', 'long', '--yes'])
    try {
      const done = await run.waitFor(/__EXIT_\d+__/)
      assert.match(done, /committed 1 change of volume "long"[\s\S]*__EXIT_0__/)
      assert.doesNotMatch(done, /committing long \[/, 'the bar is erased')
      assert.match(run.raw(), /\rcommitting long \[[#-]+\] \d+% [\d.]+ \w+\/256 MiB/)
    } finally {
      run.close()
    }
    assert.equal(fs.statSync(path.join(bases.long, 'big.bin')).size, 256 * 1024 * 1024)
  })
})
