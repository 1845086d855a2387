import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs, isOneLine, runDotUnder, WITHOUT_DAC} from './cli-fixtures.js'
import {fingerprint, overlayCount} from './store-fixtures.js'

interface BadInput {
  what: string
  command: string[]
  exitCode: number
  code: string
  message: RegExp
  /** What a human still gets on stdout (inspect prints the array it found, like docker). */
  stdout?: string
  /** Run the CLI under this prefix (WITHOUT_DAC for an unreadable base). */
  prefix?: string[]
}

/**
 * Bad input through the real CLI, as root, against a store holding an idle volume ("existing") and a
 * mounted one ("busy", mount ID "manual"). Every case runs twice, for a human and with --json, and
 * must: exit with the documented code; give a human exactly one line on stderr naming the problem;
 * give --json exactly one JSON document with the error on stdout; and change nothing, neither in the
 * store root nor in the base nor in the mount table.
 */
describe('CLI: bad input is refused with a specific message and the documented exit code, changing nothing', rootOnly(), () => {
  let tmp: TempRoot
  let base: string
  const cases: BadInput[] = []

  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-cli-bad-')
    base = tmp.base('base', {'a.txt': 'hello\n', 'sub/b.txt': 'world\n'})
    for (const command of [['create', 'existing', '--base', base], ['create', 'busy', '--base', base], ['mount', 'busy']]) {
      const result = await runDot(dotArgs(tmp.root, command))
      assert.equal(result.code, 0, result.stderr)
    }
  })
  after(() => tmp?.cleanup())

  // Paths made in `before` are needed by the cases; build them lazily.
  const file = () => path.join(tmp.dir, 'file.txt')
  const closedDir = () => path.join(tmp.dir, 'closed')
  const lockedBase = () => path.join(tmp.dir, 'locked-base')
  const add = (c: BadInput) => cases.push(c)
  const invalid = (what: string, command: string[], message: RegExp, extra: Partial<BadInput> = {}) =>
    add({what, command, exitCode: 2, code: 'invalid', message, ...extra})
  const notFound = (what: string, command: string[], message: RegExp, extra: Partial<BadInput> = {}) =>
    add({what, command, exitCode: 3, code: 'not-found', message, ...extra})

  // ---- names ----
  const B = '$BASE' // replaced by the base directory at run time
  invalid('name ../x', ['create', '../x', '--base', B], /^volume name "\.\.\/x" contains "\/"; a name is not a path: put the host directory in the base option/)
  invalid('name a/b', ['create', 'a/b', '--base', B], /^volume name "a\/b" contains "\/"/)
  invalid('empty name', ['create', '', '--base', B], /^volume name is empty; a name matches \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]\*$/)
  invalid('name .hidden', ['create', '.hidden', '--base', B], /^invalid volume name "\.hidden": a name starts with a letter or digit/)
  invalid('name -x (read as a flag)', ['create', '-x', '--base', B], /^Nonexistent flag: -x; see --help$/)
  invalid('name -x after --', ['create', '--base', B, '--', '-x'], /^invalid volume name "-x": a name starts with a letter or digit/)
  invalid('name of 300 characters', ['create', 'a'.repeat(300), '--base', B], /^volume name is 300 characters long; at most 200 are allowed$/)
  invalid('unicode name vólume', ['create', 'vólume', '--base', B], /^invalid volume name "vólume"/)
  invalid('unicode name 数据', ['create', '数据', '--base', B], /^invalid volume name "数据"/)
  invalid('name with a space', ['create', 'a b', '--base', B], /^invalid volume name "a b"/)
  invalid('two names to create', ['create', 'v', 'w', '--base', B], /^Unexpected argument: w; see --help$/)
  // ---- bases ----
  invalid('relative base', ['create', 'v', '--base', 'rel/dir'], /^base "rel\/dir" is not an absolute path; give the full path, e.g. \/rel\/dir$/)
  invalid('missing base directory', ['create', 'v', '--base', '/nonexistent/dot-test-base'], /^base "\/nonexistent\/dot-test-base" does not exist; create the directory first$/)
  invalid('base is a file', ['create', 'v', '--base', '$FILE'], /^base ".*\/file\.txt" is not a directory$/)
  invalid('base below a file', ['create', 'v', '--base', '$FILE/sub'], /^base ".*\/file\.txt\/sub" is not a directory \(a part of its path is a file\)$/)
  invalid('base inside the root', ['create', 'v', '--base', '$ROOT/existing/upper'], /^base ".*\/existing\/upper" is inside the docker-on-top root .*; choose a directory outside it$/)
  invalid('base containing the root', ['create', 'v', '--base', '$DIR'], /^base ".*" contains the docker-on-top root .*; overlayfs cannot stack/)
  invalid('unreadable base (mode 000, root without CAP_DAC_*)', ['create', 'v', '--base', '$LOCKED'], /^base ".*\/locked-base" is not readable: EACCES$/, {prefix: WITHOUT_DAC})
  invalid('base behind a closed directory (root without CAP_DAC_*)', ['create', 'v', '--base', '$CLOSED/base'], /^base ".*\/closed\/base" cannot be reached: permission denied$/, {
    prefix: WITHOUT_DAC,
  })
  invalid('no base at all', ['create', 'v'], /^missing required option "base": the absolute path of the host directory/)
  invalid('empty base', ['create', 'v', '--base', ''], /^option "base" is empty; give the absolute path of an existing directory$/)
  // ---- options ----
  invalid('unknown option', ['create', 'v', '-o', `base=${B}`, '-o', 'colour=red'], /^unknown option "colour"; allowed options are: base, volatile, from, size, tmpfs$/)
  invalid('volatile=maybe', ['create', 'v', '--base', B, '-o', 'volatile=maybe'], /^invalid value "maybe" for option "volatile"; allowed: true, false, yes, no \(any case\)$/)
  invalid('option without =', ['create', 'v', '--base', B, '-o', 'volatile'], /^option "volatile" is not of the form key=value/)
  invalid('base given twice', ['create', 'v', '--base', B, '-o', `base=${B}`], /^base is given both as --base and as -o base=; give it once$/)
  invalid('unknown flag', ['create', 'v', '--base', B, '--bogus'], /^Nonexistent flag: --bogus; see --help$/)
  add({what: 'a name that exists', command: ['create', 'existing', '--base', B], exitCode: 4, code: 'exists', message: /^volume "existing" already exists$/})
  // ---- unknown volumes and bad names for every command that takes one ----
  notFound('rm of an unknown volume', ['rm', 'nosuch'], /^no such volume: nosuch$/)
  invalid('rm of ../x', ['rm', '../x'], /^volume name "\.\.\/x" contains "\/"/)
  invalid('rm without a name', ['rm'], /^missing required argument NAME \(volume name\(s\)\); see --help$/)
  invalid('rm with an unknown flag', ['rm', 'existing', '--forse'], /^Nonexistent flag: --forse; see --help$/)
  add({what: 'rm of a volume in use', command: ['rm', 'busy'], exitCode: 5, code: 'in-use', message: /^volume "busy" is in use \(1 active mount: manual\); unmount it first, or force$/})
  notFound('inspect of an unknown volume', ['inspect', 'nosuch'], /^no such volume: nosuch$/, {stdout: '[]\n'})
  invalid('inspect of a/b', ['inspect', 'a/b'], /^volume name "a\/b" contains "\/"/, {stdout: '[]\n'})
  notFound('mount of an unknown volume', ['mount', 'nosuch'], /^no such volume: nosuch$/)
  invalid('mount of .hidden', ['mount', '.hidden'], /^invalid volume name "\.hidden"/)
  invalid('mount with ID ../x', ['mount', 'existing', '--id', '../x'], /^invalid mount ID "\.\.\/x": an ID starts with a letter or digit/)
  invalid('mount with an empty ID', ['mount', 'existing', '--id', ''], /^mount ID is empty; give a non-empty ID$/)
  invalid('mount without a name', ['mount'], /^missing required argument NAME \(volume name\); see --help$/)
  notFound('unmount of an unknown volume', ['unmount', 'nosuch'], /^no such volume: nosuch$/)
  invalid('unmount with ID "a b"', ['unmount', 'busy', '--id', 'a b'], /^invalid mount ID "a b"/)
  invalid('ls with an unknown flag', ['ls', '--bogus'], /^Nonexistent flag: --bogus; see --help$/)

  test(`there are at least 25 distinct bad inputs (${cases.length})`, () => {
    assert.ok(cases.length >= 25)
    assert.equal(new Set(cases.map((c) => JSON.stringify(c.command))).size, cases.length, 'distinct')
  })

  test('a refused create against a root that does not exist yet does not create the root', async () => {
    const freshRoot = path.join(tmp.dir, 'fresh-root')
    for (const command of [
      ['create', 'v', '--base', '/nonexistent/dot-test-base'],
      ['create', 'v', '--base', path.join(tmp.dir, 'file.txt')],
      ['create', 'v', '-o', `base=${base}`, '-o', 'volatile=maybe'],
      ['create', '../x', '--base', base],
    ]) {
      fs.writeFileSync(path.join(tmp.dir, 'file.txt'), 'not a directory\n')
      const result = await runDot(dotArgs(freshRoot, command))
      assert.equal(result.code, 2, result.stderr)
      assert.ok(!fs.existsSync(freshRoot), `dot ${command.join(' ')} created ${freshRoot}`)
    }
  })

  for (const c of cases) {
    test(`${c.command[0]}: ${c.what} -> exit ${c.exitCode}`, async () => {
      fs.writeFileSync(file(), 'not a directory\n')
      fs.mkdirSync(path.join(closedDir(), 'base'), {recursive: true})
      fs.mkdirSync(lockedBase(), {recursive: true})
      fs.chmodSync(closedDir(), 0o000)
      fs.chmodSync(lockedBase(), 0o000)
      try {
        const command = c.command.map((arg) =>
          arg
            .replaceAll('$BASE', base)
            .replaceAll('$FILE', file())
            .replaceAll('$ROOT', tmp.root)
            .replaceAll('$LOCKED', lockedBase())
            .replaceAll('$CLOSED', closedDir())
            .replaceAll('$DIR', tmp.dir),
        )
        const rootBefore = fingerprint(tmp.root)
        const baseBefore = fingerprint(base)
        const mountpoint = path.join(tmp.root, 'busy', 'mountpoint')

        const human = await runDotUnder(c.prefix ?? [], dotArgs(tmp.root, command))
        assert.equal(human.code, c.exitCode, `exit code; stderr: ${human.stderr}`)
        assert.equal(human.stdout, c.stdout ?? '', 'stdout')
        assert.ok(isOneLine(human.stderr), `one line on stderr, got: ${JSON.stringify(human.stderr)}`)
        const prefix = `dot ${command[0]}: `
        assert.ok(human.stderr.startsWith(prefix), human.stderr)
        assert.match(human.stderr.slice(prefix.length).trimEnd(), c.message)

        const json = await runDotUnder(c.prefix ?? [], dotArgs(tmp.root, command, {json: true}))
        assert.equal(json.code, c.exitCode, `--json exit code; stdout: ${json.stdout}`)
        assert.equal(json.stderr, '', '--json writes nothing to stderr')
        const doc = parseJson(json) as {error: {code: string; message: string; exitCode: number}}
        assert.equal(doc.error.code, c.code)
        assert.equal(doc.error.exitCode, c.exitCode)
        assert.match(doc.error.message, c.message)

        assert.deepEqual(fingerprint(tmp.root), rootBefore, 'the store root is unchanged')
        assert.deepEqual(fingerprint(base), baseBefore, 'the base is unchanged')
        assert.equal(overlayCount(mountpoint), 1, 'the mounted volume is still mounted, once')
        assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'busy', 'activemounts')), ['manual'])
      } finally {
        fs.chmodSync(closedDir(), 0o755)
        fs.chmodSync(lockedBase(), 0o755)
      }
    })
  }
})
