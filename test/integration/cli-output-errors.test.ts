import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN, parseJson, runDot} from '../helpers/run-dot.js'
import {mountsBelow, TempRoot} from '../helpers/temp-root.js'
import {dotArgs, isOneLine} from './cli-fixtures.js'
import {hasStackTrace, runDotHard, scratchEntries} from './trust-fixtures.js'

/**
 * Output and exits (issue 10, item 8): write errors on stdout, readers that go away, targets on
 * pseudo filesystems (where Node's recursive mkdir spins forever), signals, and paths that would forge
 * lines of `dot diff`. Through the real CLI, as root, on real overlays.
 */
describe('CLI: output errors, pseudo-filesystem targets, signals and escaped paths', rootOnly(), () => {
  let tmp: TempRoot
  let base: string
  const full = () => fs.openSync('/dev/full', 'w')
  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-cli-output-')
    base = tmp.base('base', {'a.txt': 'a\n', 'doomed\nD /etc/shadow': 'x\n'})
    for (const name of ['v', 'w']) assert.equal((await runDot(dotArgs(tmp.root, ['create', name, '--base', base]))).code, 0)
  })
  after(() => tmp?.cleanup())

  for (const json of [false, true]) {
    test(`dot ls${json ? ' --json' : ''} > /dev/full: one line, exit 1, no stack trace`, async () => {
      const fd = full()
      const result = await runDotHard(dotArgs(tmp.root, ['ls'], {json}), {stdout: fd})
      fs.closeSync(fd)
      assert.equal(result.code, 1, result.stderr)
      assert.ok(isOneLine(result.stderr), `one line on stderr: ${JSON.stringify(result.stderr)}`)
      assert.match(result.stderr, /^dot ls: .*writing.*(no space left on device|ENOSPC)/)
      assert.equal(hasStackTrace(result.stderr), false)
    })
  }

  for (const args of [['--help'], ['ls', '--help'], ['help', 'ls'], ['--version'], []]) {
    test(`dot ${args.join(' ')} > /dev/full (help, version: no command of ours runs): one line, exit 1, no stack trace`, async () => {
      const fd = full()
      const result = await runDotHard(args, {stdout: fd})
      fs.closeSync(fd)
      assert.equal(result.code, 1, result.stderr)
      assert.equal(hasStackTrace(result.stderr), false, result.stderr)
      assert.ok(isOneLine(result.stderr), `one line on stderr: ${JSON.stringify(result.stderr)}`)
      assert.match(result.stderr, /^dot: writing the output: no space left on device \(ENOSPC\)\n$/)
    })
  }

  test('dot recover --tar > /dev/full: one line, exit 1, and the view is unmounted', async () => {
    const fd = full()
    const result = await runDotHard(dotArgs(tmp.root, ['recover', 'v', '--tar']), {stdout: fd})
    fs.closeSync(fd)
    assert.equal(result.code, 1, result.stderr)
    assert.ok(isOneLine(result.stderr), `one line on stderr: ${JSON.stringify(result.stderr)}`)
    assert.match(result.stderr, /no space left on device|ENOSPC/)
    assert.equal(hasStackTrace(result.stderr), false)
    assert.deepEqual(mountsBelow(tmp.root), [], 'nothing left mounted')
    assert.deepEqual(scratchEntries(tmp.root), [], 'no scratch left')
  })

  test('a reader that goes away (dot ls | head -0) is no error: nothing on stderr', async () => {
    for (const args of [['ls'], ['ls', '-q'], ['inspect', 'v', 'w']]) {
      const child = spawn(process.execPath, [DOT_BIN, ...dotArgs(tmp.root, args)], {stdio: ['ignore', 'pipe', 'pipe']})
      child.stdout.destroy()
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)))
      assert.equal(stderr, '', `dot ${args.join(' ')}: quiet on EPIPE`)
      assert.equal(code, 0, `dot ${args.join(' ')}`)
    }
  })

  for (const [what, command] of [
    ['dot recover --to /proc/x', ['recover', 'v', '--to', '/proc/dot-test-x']],
    ['dot recover --to /sys/x', ['recover', 'v', '--to', '/sys/dot-test-x/y']],
    ['dot create --root /proc/x', ['create', 'p', '--base', '$BASE', '--root', '/proc/dot-test-x']],
  ] as const) {
    test(`${what} is refused at once as a pseudo filesystem (exit 2)`, async () => {
      const args = command.map((a) => (a === '$BASE' ? base : a))
      const result = await runDotHard(args[0] === 'create' ? args : dotArgs(tmp.root, args), {timeoutMs: 15_000})
      assert.equal(result.killed, false, `${what} hung`)
      assert.equal(result.code, 2, result.stderr)
      assert.ok(isOneLine(result.stderr), result.stderr)
      assert.match(result.stderr, /(proc|sysfs)/)
      assert.match(result.stderr, /pseudo/)
      assert.deepEqual(mountsBelow(tmp.root), [])
    })
  }

  test('SIGTERM ends a dot mount that waits for a volume held by another process', async () => {
    const volume = path.join(tmp.root, 'w')
    const holder = spawn('flock', ['-x', volume, 'sleep', '60'], {stdio: 'ignore'})
    try {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const child = spawn(process.execPath, [DOT_BIN, ...dotArgs(tmp.root, ['mount', 'w'])], {stdio: ['ignore', 'pipe', 'pipe']})
      await new Promise((resolve) => setTimeout(resolve, 1500))
      const started = Date.now()
      child.kill('SIGTERM')
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
        child.on('close', (c, signal) => {
          clearTimeout(timer)
          resolve(c ?? (signal === 'SIGTERM' ? 143 : null))
        })
      })
      assert.ok(Date.now() - started < 5000, 'exits promptly')
      assert.equal(code, 143)
      assert.deepEqual(mountsBelow(tmp.root), [])
    } finally {
      holder.kill()
    }
  })

  test('dot diff escapes paths in its human output (no forged lines); --json keeps them raw', async () => {
    assert.equal((await runDot(dotArgs(tmp.root, ['mount', 'v']))).code, 0)
    const mountpoint = path.join(tmp.root, 'v', 'mountpoint')
    // A path, not a name: directory "x\nD ", then etc/passwd, as a container can make it.
    fs.mkdirSync(path.join(mountpoint, 'x\nD /etc'), {recursive: true})
    fs.writeFileSync(path.join(mountpoint, 'x\nD /etc/passwd'), 'forged\n')
    fs.writeFileSync(path.join(mountpoint, 'tab\there "q" back\\slash'), 'odd\n')
    fs.writeFileSync(path.join(mountpoint, 'naïve.txt'), 'fine\n')
    fs.rmSync(path.join(mountpoint, 'doomed\nD /etc/shadow'))
    assert.equal((await runDot(dotArgs(tmp.root, ['unmount', 'v']))).code, 0)
    const human = await runDot(dotArgs(tmp.root, ['diff', 'v']))
    assert.equal(human.code, 0, human.stderr)
    const lines = human.stdout.split('\n').filter(Boolean)
    const json = parseJson(await runDot(dotArgs(tmp.root, ['diff', 'v'], {json: true}))) as {path: string; kind: string}[]
    assert.equal(lines.length, json.length, `one line per change:\n${human.stdout}`)
    assert.ok(json.some((c) => c.path === '/x\nD /etc/passwd'), '--json keeps the raw path')
    for (const line of ['A "/x\\nD /etc/passwd"', 'A "/tab\\there \\"q\\" back\\\\slash"', 'A /naïve.txt', 'D "/doomed\\nD /etc/shadow"']) {
      assert.ok(lines.includes(line), `${line} in:\n${human.stdout}`)
    }
    assert.doesNotMatch(human.stdout, /^D \/etc\//m, 'no forged line')
    const to = path.join(tmp.dir, 'changes')
    const recovered = await runDot(dotArgs(tmp.root, ['recover', 'v', '--to', to, '--changes-only']))
    assert.equal(recovered.code, 0, recovered.stderr)
    assert.ok(recovered.stdout.includes('D "/doomed\\nD /etc/shadow"\n'), recovered.stdout)
    assert.doesNotMatch(recovered.stdout, /^D \/etc\/shadow$/m)
  })
})
