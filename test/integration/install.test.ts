import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {callPlugin} from '../plugin/plugin-process.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {REPO} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

/**
 * scripts/install.sh end to end, with every path it writes moved into a temp dir (its DOT_* overrides)
 * so the machine's /opt, /usr/local/bin and systemd are never touched: install, restart, stop,
 * uninstall (volumes kept) and uninstall --purge (volumes unmounted, then deleted). Background mode
 * (DOT_NO_SYSTEMD=1), and the checkout's existing build (DOT_NO_BUILD=1): an `npm ci` here would
 * replace node_modules under the other test files running meanwhile.
 */
describe('scripts/install.sh: install, restart, stop, uninstall, purge', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-install-')
  const at = (p: string) => path.join(tmp.dir, p)
  const env = {
    DOT_PREFIX: at('opt/docker-on-top'),
    DOT_BIN: at('usr/local/bin/dot'),
    DOT_UNIT_DIR: at('etc/systemd/system'),
    DOT_LOG: at('var/log/docker-on-top.log'),
    DOT_PIDFILE: at('run/docker-on-top.pid'),
    DOT_ROOT: at('var/lib/docker-on-top'),
    DOT_SOCKET: at('run/docker/plugins/dot-test-install.sock'),
    DOT_SERVE_ARGS: '--name dot-test-install',
    DOT_NO_BUILD: '1',
    DOT_NO_SYSTEMD: '1',
  }
  const script = path.join(REPO, 'scripts', 'install.sh')
  const installed = path.join(env.DOT_PREFIX, 'scripts', 'install.sh')
  let base: string
  let before_: string[]

  const sh = async (file: string, args: string[], extraEnv: Record<string, string> = env) => {
    const result = await execa('bash', [file, ...args], {env: {...extraEnv, PATH: process.env.PATH}, extendEnv: false, reject: false, timeout: 180_000, stdin: 'ignore'})
    assert.equal(result.exitCode, 0, `${path.basename(file)} ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`)
    return `${result.stdout}\n${result.stderr}`
  }
  const dot = async (...args: string[]) => (await execa(env.DOT_BIN, args, {env: {DOT_ROOT: env.DOT_ROOT}})).stdout
  const pid = () => Number(fs.readFileSync(env.DOT_PIDFILE, 'utf8'))
  const alive = (p: number) => {
    try {
      process.kill(p, 0)
      return true
    } catch {
      return false
    }
  }
  /** Every path below the temp dir, but the base's files (its directory is the tests' own). */
  const tree = () => {
    const out: string[] = []
    const walk = (rel: string) => {
      for (const entry of fs.readdirSync(path.join(tmp.dir, rel), {withFileTypes: true})) {
        const child = path.join(rel, entry.name)
        out.push(child)
        if (entry.isDirectory() && child !== 'bases') walk(child)
      }
    }
    walk('')
    return out.sort()
  }

  before(() => {
    assertRoot()
    base = tmp.base('data', {'hello.txt': 'hello\n'})
    // The parents an install expects to exist on any system; it must leave them as it found them.
    for (const dir of ['opt', 'usr/local/bin', 'etc/systemd/system', 'var/log', 'var/lib', 'run/docker/plugins']) fs.mkdirSync(at(dir), {recursive: true})
    before_ = tree()
  })
  after(async () => {
    if (fs.existsSync(env.DOT_PIDFILE) && alive(pid())) process.kill(pid(), 'SIGKILL')
    tmp.cleanup()
  })

  test('install, restart without a rebuild, stop by the pidfile, then uninstall: only the volumes stay', async () => {
    const output = await sh(script, [])
    assert.doesNotMatch(output, /update available|npm notice|new version/i, 'no nagging about tool updates')
    assert.match(output, /dot serve running in the background \(pid \d+, pidfile .*docker-on-top\.pid\)/)
    assert.match(output, /stop: .*install\.sh --stop .*restart: .*install\.sh --restart/)
    for (const file of [env.DOT_BIN, path.join(env.DOT_UNIT_DIR, 'docker-on-top.service'), installed, path.join(env.DOT_PREFIX, 'install.env')]) assert.ok(fs.existsSync(file), file)
    assert.deepEqual((await callPlugin(env.DOT_SOCKET, '/Plugin.Activate')).json, {Implements: ['VolumeDriver']})
    const first = pid()

    await dot('create', 'kept', '--base', base)
    const mountpoint = await dot('mount', 'kept')
    fs.writeFileSync(path.join(mountpoint, 'change.txt'), 'mine\n')

    // From the installed copy, as an admin would once the checkout is gone: no build, a new process.
    const restarted = await sh(installed, ['--restart'], {PATH: process.env.PATH!})
    assert.doesNotMatch(restarted, /building|installing/)
    const second = pid()
    assert.notEqual(second, first)
    assert.equal(alive(first), false)
    assert.equal(fs.readFileSync(path.join(mountpoint, 'change.txt'), 'utf8'), 'mine\n', 'a restart leaves volumes in use mounted')

    process.kill(second, 'SIGTERM')
    for (let i = 0; i < 100 && fs.existsSync(env.DOT_PIDFILE); i++) await new Promise((r) => setTimeout(r, 100))
    assert.equal(fs.existsSync(env.DOT_PIDFILE), false, 'dot serve removes its pidfile on exit')
    assert.equal(fs.existsSync(env.DOT_SOCKET), false, 'and its socket')

    await sh(installed, ['--restart'], {PATH: process.env.PATH!})
    const removed = await sh(installed, ['--uninstall'], {PATH: process.env.PATH!})
    assert.match(removed, /kept the volumes in .*var\/lib\/docker-on-top/)
    const left = tree().filter((p) => !before_.includes(p))
    assert.ok(left.length > 0 && left.every((p) => p.startsWith('var/lib/docker-on-top')), `left behind: ${left.join(', ')}`)
    assert.equal(fs.readFileSync(path.join(mountpoint, 'change.txt'), 'utf8'), 'mine\n', 'the volume and its changes are kept')
  })

  test('uninstall --purge unmounts and deletes the volumes, and leaves nothing at all', async () => {
    await sh(script, [])
    assert.match(await dot('ls', '-q'), /^kept$/m, 'a reinstall finds the kept volume')
    await dot('create', 'second', '--base', base, '--volatile')
    await dot('mount', 'second')
    const output = await sh(installed, ['--uninstall', '--purge'], {PATH: process.env.PATH!})
    assert.match(output, /purging 2 volume\(s\)/)
    assert.deepEqual(tmp.mounts(), [], 'nothing mounted below the temp dir')
    assert.deepEqual(tree(), before_, 'the temp dir is as it was before the install')
    assert.equal(fs.readFileSync(path.join(base, 'hello.txt'), 'utf8'), 'hello\n', 'the base is untouched')
  })
})
