import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {pack} from 'tar-stream'

import {writeLayerFile} from '../../src/core/changes/layer-file.js'
import {VolumeStore} from '../../src/core/volume/store.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {statSnapshot} from './recover-tree.js'

type Entry = Parameters<ReturnType<typeof pack>['entry']>[0] & {content?: string}

/** A layer tar made by tar-stream from header objects (a hostile one, typically). */
async function layer(entries: Entry[]): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  const done = (async () => {
    for await (const chunk of p as AsyncIterable<Buffer>) chunks.push(chunk)
  })()
  for (const {content, ...header} of entries) p.entry({mode: 0o644, ...header}, content ?? '')
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

const ok: Entry = {name: 'fine.txt', content: 'fine\n'}

/**
 * Every refusal of reset, commit and import: a clear message, the documented exit code, and nothing
 * changed (the upper layer and the base compared before and after, no scratch left in the root).
 */
describe('reset, commit, export and import refuse what they must', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-changes-refusals-')
  let store: VolumeStore
  let base: string
  const dot = (...args: string[]) => runDot([...args, '--root', tmp.root])
  const file = (name: string) => path.join(tmp.dir, name)
  const unchanged = () => ({upper: statSnapshot(store.layout.upper('v')), base: statSnapshot(base)})
  const noScratch = () => assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.')), [])

  before(async () => {
    assertRoot()
    base = tmp.base('data', {'a.txt': 'a\n', 'dir/b.txt': 'b\n'})
    store = await VolumeStore.open({root: tmp.root})
    await store.create('v', {base})
    const mp = await store.mount('v', 'setup')
    fs.writeFileSync(path.join(mp, 'a.txt'), 'changed\n')
    fs.writeFileSync(path.join(mp, 'new.txt'), 'new\n')
    await store.unmount('v', 'setup')
  })
  after(() => tmp.cleanup())

  const hostile: [string, Entry[], RegExp][] = [
    ['an absolute path', [ok, {name: '/etc/evil', content: 'x'}], /layer path "\/etc\/evil" is absolute/],
    ['a path with ..', [ok, {name: 'dir/../../evil', content: 'x'}], /contains "\.\."/],
    ['a hard link to outside the layer', [ok, {name: 'link', type: 'link', linkname: '../../etc/passwd'}], /contains "\.\."/],
    ['a hard link to a file not in the layer', [ok, {name: 'link', type: 'link', linkname: 'a.txt'}], /hard link to "a.txt", which is not an earlier file of the layer/],
    ['a symlink pointing out', [ok, {name: 'out', type: 'symlink', linkname: '../../../etc'}], /points out of the volume; refused unless --allow-links-out/],
    ['an absolute symlink', [ok, {name: 'abs', type: 'symlink', linkname: '/etc/shadow'}], /absolute path "\/etc\/shadow".*--allow-links-out/],
    ['an entry below a symlink of the layer', [{name: 'd', type: 'symlink', linkname: 'dir'}, {name: 'd/x', content: 'x'}], /below "d", a symlink of the layer/],
    ['a device node', [ok, {name: 'sda', type: 'block-device', devmajor: 8, devminor: 0}], /is a device node; refused unless --allow-devices/],
    ['overlayfs xattrs', [{name: 'redir', type: 'directory', mode: 0o755, pax: {'SCHILY.xattr.trusted.overlay.redirect': '/'}}], /overlayfs's own xattr trusted\.overlay\.redirect/],
  ]
  for (const [what, entries, message] of hostile) {
    test(`import refuses ${what} (exit 2), the volume unchanged`, async () => {
      fs.writeFileSync(file('hostile.tar'), await layer(entries))
      const before = unchanged()
      const result = await dot('import', 'v', '--from', file('hostile.tar'), '--json')
      assert.equal(result.code, 2, result.stdout + result.stderr)
      assert.match((parseJson(result) as {error: {message: string}}).error.message, message)
      assert.deepEqual(unchanged(), before)
      noScratch()
    })
  }

  test('import refuses a truncated stream (exit 2), the volume unchanged', async () => {
    const whole = await layer([ok, {name: 'big.bin', content: 'x'.repeat(100_000)}])
    fs.writeFileSync(file('cut.tar'), whole.subarray(0, 20_000))
    const before = unchanged()
    const result = await dot('import', 'v', '--from', file('cut.tar'))
    assert.equal(result.code, 2, result.stderr)
    assert.match(result.stderr, /not a valid tar stream|could not be extracted/)
    assert.deepEqual(unchanged(), before)
    noScratch()
  })

  test('create --from with a hostile layer creates nothing', async () => {
    fs.writeFileSync(file('hostile.tar'), await layer([{name: '/abs', content: 'x'}]))
    const result = await dot('create', 'seeded', '--base', base, '--from', file('hostile.tar'))
    assert.equal(result.code, 2, result.stderr)
    assert.ok(!fs.existsSync(path.join(tmp.root, 'seeded')))
    noScratch()
  })

  test('reset, commit and import refuse a volume in use (exit 5), nothing changed', async () => {
    fs.writeFileSync(file('fine.tar'), await layer([ok]))
    await store.mount('v', 'busy')
    try {
      const before = unchanged()
      for (const args of [['reset', 'v'], ['commit', 'v', '--yes'], ['import', 'v', '--from', file('fine.tar')]]) {
        const result = await dot(...args, '--json')
        assert.equal(result.code, 5, `${args.join(' ')}: ${result.stdout} ${result.stderr}`)
        assert.match((parseJson(result) as {error: {message: string}}).error.message, /volume "v" is in use \(1 active mount: busy\)/)
      }
      assert.deepEqual(unchanged(), before)
      const exported = await dot('export', 'v', '--to', file('while-mounted.tar'))
      assert.equal(exported.code, 0, exported.stderr)
      assert.match(exported.stderr, /warning: volume "v" is mounted: its changes may move while they are read/)
    } finally {
      await store.unmount('v', 'busy')
    }
  })

  test('commit, export and import refuse a base that became a symlink into the root (exit 2), nothing changed', async () => {
    const swapped = tmp.base('swapped', {'s.txt': 's\n'})
    await store.create('sw', {base: swapped})
    fs.writeFileSync(path.join(store.layout.upper('sw'), 'change.txt'), 'change\n')
    fs.writeFileSync(file('sw-layer.tar'), await layer([ok]))
    fs.rmSync(swapped, {recursive: true})
    fs.symlinkSync(store.layout.upper('v'), swapped) // commit would write into another volume's changes
    const before = {v: statSnapshot(store.layout.upper('v')), sw: statSnapshot(store.layout.upper('sw'))}
    for (const args of [['commit', 'sw', '--yes'], ['export', 'sw', '--to', file('sw.tar')], ['import', 'sw', '--from', file('sw-layer.tar')]]) {
      const refused = await dot(...args)
      assert.equal(refused.code, 2, `dot ${args.join(' ')}: ${refused.stderr}`)
      assert.match(refused.stderr, /base ".*swapped" of volume "sw" is inside the docker-on-top root/)
      assert.deepEqual({v: statSnapshot(store.layout.upper('v')), sw: statSnapshot(store.layout.upper('sw'))}, before, `dot ${args.join(' ')} changed nothing`)
      assert.ok(!fs.existsSync(file('sw.tar')))
      noScratch()
    }
    fs.rmSync(swapped)
    await store.remove('sw')
  })

  test('commit refuses a base that changed under the change (exit 4) unless --force', async () => {
    fs.writeFileSync(path.join(base, 'a.txt'), 'written into the base behind the volume\n')
    const before = unchanged()
    const refused = await dot('commit', 'v', '--yes')
    assert.equal(refused.code, 4, refused.stderr)
    assert.match(refused.stderr, /the base of volume "v" changed under its changes: \/a\.txt changed in the base after the volume's copy was made.*--force/)
    assert.deepEqual(unchanged(), before)
    const forced = await dot('commit', 'v', '--yes', '--force')
    assert.equal(forced.code, 0, forced.stderr)
    assert.equal(fs.readFileSync(path.join(base, 'a.txt'), 'utf8'), 'changed\n')
  })

  test('bad usage: missing volume, existing backup file, terminal output, several volumes with --backup', async () => {
    assert.equal((await dot('reset', 'nope')).code, 3)
    assert.equal((await dot('commit', 'nope', '--yes')).code, 3)
    assert.equal((await dot('export', 'nope', '--to', file('nope.tar'))).code, 3)
    fs.writeFileSync(file('taken.tar'), 'keep me')
    const taken = await dot('reset', 'v', '--backup', file('taken.tar'))
    assert.equal(taken.code, 4, taken.stderr)
    assert.match(taken.stderr, /taken\.tar already exists; give a new file name/)
    assert.equal(fs.readFileSync(file('taken.tar'), 'utf8'), 'keep me')
    const two = await dot('reset', 'v', 'w', '--backup', file('two.tar'))
    assert.equal(two.code, 2)
    const json = await dot('export', 'v', '--json')
    assert.equal(json.code, 2)
    const missing = await dot('import', 'v', '--from', file('missing.tar'))
    assert.equal(missing.code, 3)
    assert.match(missing.stderr, /no such layer file/)
  })

  test('a source that never ends (/dev/zero) is read only up to the archive end GNU tar stops at', async () => {
    const before = (await dot('diff', 'v')).stdout
    const zeros = await runDot(['import', 'v', '--from', '/dev/zero', '--root', tmp.root], {timeoutMs: 30_000})
    assert.equal(zeros.code, 0, zeros.stderr)
    assert.match(zeros.stdout, /applied 0 entries onto volume "v"/)
    assert.doesNotMatch(zeros.stderr, /MaxListenersExceeded/)
    assert.equal((await dot('diff', 'v')).stdout, before, 'an empty layer changes nothing')
  })

  test('a temp name planted beside the layer file (a symlink) is refused, never written through', async () => {
    const target = file('planted.tar')
    const victim = file('victim')
    fs.symlinkSync(victim, path.join(path.dirname(target), `.planted.tar.tmp-${process.pid}`))
    await assert.rejects(writeLayerFile(target, async () => 'unused'), (err: Error & {code?: string}) => {
      assert.equal(err.code, 'invalid')
      assert.match(err.message, /cannot write .*planted\.tar: EEXIST creating .*\.planted\.tar\.tmp-/)
      return true
    })
    assert.equal(fs.existsSync(victim), false, 'nothing was created at the link target')
    assert.equal(fs.existsSync(target), false)
  })

  test('a layer file on /proc or /sys is refused by name (exit 2), not an error thrown by the stream', async () => {
    for (const target of ['/proc/x.tar', '/sys/x.tar']) {
      const refused = await dot('export', 'v', '--to', target)
      assert.equal(refused.code, 2, refused.stderr)
      assert.match(refused.stderr, /^dot export: the layer file "\/(proc|sys)\/x\.tar" is on (proc|sysfs), a pseudo filesystem of the kernel/)
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr)
    }
    const backup = await dot('reset', 'v', '--backup', '/proc/backup.tar')
    assert.equal(backup.code, 2, backup.stderr)
    assert.ok(fs.existsSync(path.join(store.layout.upper('v'))), 'the refused reset left the changes alone')
  })

  test('reset discards the changes and keeps the volume; --backup then import brings them back', async () => {
    const mp = await store.mount('v', 'again')
    fs.writeFileSync(path.join(mp, 'precious.txt'), 'keep a copy\n')
    fs.rmSync(path.join(mp, 'dir'), {recursive: true})
    await store.unmount('v', 'again')
    const diffBefore = (await dot('diff', 'v')).stdout
    const reset = await dot('reset', 'v', '--backup', file('reset-backup.tar'), '--json')
    assert.equal(reset.code, 0, reset.stdout)
    assert.deepEqual(parseJson(reset), {reset: [{volume: 'v', hadChanges: true, backup: file('reset-backup.tar')}], errors: []})
    assert.equal((await dot('diff', 'v')).stdout, '')
    assert.deepEqual(fs.readdirSync(store.layout.upper('v')), [])
    assert.equal((await store.get('v')).base, base)
    const undo = await dot('import', 'v', '--from', file('reset-backup.tar'))
    assert.equal(undo.code, 0, undo.stderr)
    assert.equal((await dot('diff', 'v')).stdout, diffBefore)
    noScratch()
  })
})
