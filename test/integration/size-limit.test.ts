import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {loopsBelow, TempRoot} from '../helpers/temp-root.js'

const MiB = 2 ** 20

function mountOf(dir: string) {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).find((e) => e.mountpoint === dir)
}

/** Writes `mib` MiB into `file` with dd, as a container would; returns dd's exit status and stderr. */
function fill(file: string, mib: number): {status: number | null; stderr: string} {
  const result = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${mib}`, 'conv=fsync'], {encoding: 'utf8'})
  return {status: result.status, stderr: result.stderr}
}

/**
 * Size-limited (ext4 image) and tmpfs volumes on real overlays and real loop devices, through the CLI.
 * Every loop device and mount is released by TempRoot.cleanup, even when a test fails.
 */
describe('size limit and tmpfs', {...rootOnly(), concurrency: false}, () => {
  const tmp = new TempRoot('dot-test-size-')
  let base = ''
  const dot = (args: string[], env: NodeJS.ProcessEnv = {}) => runDot([...args, '--root', tmp.root], {env})
  const ok = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await dot(args, env)
    assert.equal(result.code, 0, `dot ${args.join(' ')}: ${result.stderr}`)
    return result.stdout.trim()
  }
  before(() => {
    assertRoot()
    base = tmp.base('b', {'base.txt': 'from the base\n', 'old.txt': 'to be deleted\n'})
  })
  after(() => tmp.cleanup())

  test('a write past the limit gets ENOSPC; the records, the volume and another volume are fine', async () => {
    await ok(['create', 'lim', '--base', base, '--size', '64M'])
    await ok(['create', 'free', '--base', base])
    const meta = JSON.parse(fs.readFileSync(path.join(tmp.root, 'lim', 'metadata.json'), 'utf8'))
    assert.equal(meta.SizeLimit, 64 * MiB)
    const image = fs.statSync(path.join(tmp.root, 'lim', 'limit.img'))
    assert.equal(image.size, 64 * MiB)
    assert.ok(image.blocks * 512 < 16 * MiB, `the image is sparse (${image.blocks * 512} bytes allocated)`)

    const lim = await ok(['mount', 'lim', '--id', 'c1'])
    const free = await ok(['mount', 'free', '--id', 'c1'])
    const upperMount = mountOf(path.join(tmp.root, 'lim', 'limit'))
    assert.equal(upperMount?.fstype, 'ext4')
    assert.match(upperMount?.source ?? '', /^\/dev\/loop\d+$/)
    const full = fill(path.join(lim, 'big'), 100)
    assert.notEqual(full.status, 0)
    assert.match(full.stderr, /No space left on device/)
    // The other volume, on the root's file system, keeps working.
    assert.equal(fill(path.join(free, 'big'), 80).status, 0)
    assert.equal(fs.statSync(path.join(free, 'big')).size, 80 * MiB)
    // Records and metadata live outside the limit: a second use is recorded on the full volume.
    await ok(['mount', 'lim', '--id', 'c2'])
    assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'lim', 'activemounts')).sort(), ['c1', 'c2'])
    assert.equal(fs.readFileSync(path.join(lim, 'base.txt'), 'utf8'), 'from the base\n')

    const [row] = (parseJson(await dot(['ls', '--json'])) as Array<{name: string; sizeLimit?: number; limitUsedBytes?: number}>).filter((v) => v.name === 'lim')
    assert.equal(row.sizeLimit, 64 * MiB)
    assert.ok((row.limitUsedBytes ?? 0) > 50 * MiB, `used ${row.limitUsedBytes}`)
    const table = await ok(['ls'])
    assert.match(table, /^lim .* \d+ MiB\/64 MiB /m)
    assert.doesNotMatch(table.split('\n').find((l) => l.startsWith('free')) ?? '', /MiB\//)

    fs.rmSync(path.join(lim, 'big'))
    fs.rmSync(path.join(free, 'big'))
    for (const id of ['c1', 'c2']) await ok(['unmount', 'lim', '--id', id])
    await ok(['unmount', 'free', '--id', 'c1'])
  })

  test('every changes verb works on a size-limited volume, its image mounted on demand', async () => {
    await ok(['create', 'verbs', '--base', base, '-o', 'size=32m'])
    const mp = await ok(['mount', 'verbs'])
    fs.writeFileSync(path.join(mp, 'new.txt'), 'a change\n')
    fs.rmSync(path.join(mp, 'old.txt'))
    await ok(['unmount', 'verbs'])
    // As after a reboot: the image is no longer mounted; each verb mounts it under the volume's lock.
    const limit = path.join(tmp.root, 'verbs', 'limit')
    execFileSync('umount', [limit])
    assert.equal(mountOf(limit), undefined)

    assert.match(await ok(['ls']), /^verbs .*\/32 MiB /m)
    const diff = await ok(['diff', 'verbs'])
    assert.match(diff, /A \/new\.txt/)
    assert.match(diff, /D \/old\.txt/)
    assert.equal(mountOf(limit)?.fstype, 'ext4')

    const layer = path.join(tmp.dir, 'verbs.tar')
    await ok(['export', 'verbs', '--to', layer])
    const entries = execFileSync('tar', ['tf', layer], {encoding: 'utf8'})
    assert.match(entries, /new\.txt/)
    assert.match(entries, /\.wh\.old\.txt/)

    const copy = path.join(tmp.dir, 'recovered')
    await ok(['recover', 'verbs', '--to', copy])
    assert.equal(fs.readFileSync(path.join(copy, 'new.txt'), 'utf8'), 'a change\n')
    assert.ok(!fs.existsSync(path.join(copy, 'old.txt')))

    const inspect = (parseJson(await dot(['inspect', 'verbs', '--json'])) as Array<{changesBytes: number; upper: string}>)[0]
    assert.equal(inspect.upper, path.join(limit, 'upper'))
    assert.ok(inspect.changesBytes > 0)

    const gc = parseJson(await dot(['gc', '--json'])) as {findings: unknown[]}
    assert.deepEqual(gc.findings, [], 'a mounted image with no overlay is no garbage')

    // import: extracted on the image, applied into the upper layer there.
    await ok(['create', 'into', '--base', base, '--size', '16M'])
    await ok(['import', 'into', '--from', layer])
    assert.equal(await ok(['diff', 'into']), diff)
    assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'into', 'limit')).filter((n) => n.startsWith('.')), [], 'no scratch left on the image')
    // A layer bigger than the limit: ENOSPC while extracting; the volume keeps what it had.
    const huge = path.join(tmp.dir, 'huge')
    fs.mkdirSync(huge)
    fs.writeFileSync(path.join(huge, 'big.bin'), Buffer.alloc(24 * MiB, 1))
    const hugeLayer = path.join(tmp.dir, 'huge.tar')
    execFileSync('tar', ['cf', hugeLayer, '-C', huge, '.'])
    const tooBig = await dot(['import', 'into', '--from', hugeLayer])
    assert.notEqual(tooBig.code, 0)
    assert.match(tooBig.stderr, /could not be extracted: tar: .*Wrote only[^]*nothing was changed/)
    assert.doesNotMatch(tooBig.stderr, /^\s+at /m)
    assert.equal(await ok(['diff', 'into']), diff)
    assert.deepEqual(fs.readdirSync(path.join(tmp.root, 'into', 'limit')).filter((n) => n.startsWith('.')), [])
    const tmpfsImport = await dot(['import', 'mem-never', '--from', layer])
    assert.notEqual(tmpfsImport.code, 0)

    execFileSync('umount', [limit])
    await ok(['reset', 'verbs', '--backup', path.join(tmp.dir, 'reset.tar')])
    assert.match(execFileSync('tar', ['tf', path.join(tmp.dir, 'reset.tar')], {encoding: 'utf8'}), /new\.txt/)
    assert.equal(await ok(['diff', 'verbs']), '')
    const mp2 = await ok(['mount', 'verbs'])
    fs.writeFileSync(path.join(mp2, 'commit.txt'), 'into the base\n')
    await ok(['unmount', 'verbs'])
    execFileSync('umount', [limit])
    await ok(['commit', 'verbs', '--yes'])
    assert.equal(fs.readFileSync(path.join(base, 'commit.txt'), 'utf8'), 'into the base\n')
    assert.equal(await ok(['diff', 'verbs']), '')
    fs.rmSync(path.join(base, 'commit.txt'))
  })

  test('a volatile size-limited volume is wiped on its own file system at the next first mount', async () => {
    await ok(['create', 'vol', '--base', base, '--size', '32M', '--volatile'])
    const mp = await ok(['mount', 'vol'])
    fs.writeFileSync(path.join(mp, 'gone.txt'), 'wiped next time\n')
    await ok(['unmount', 'vol'])
    const mp2 = await ok(['mount', 'vol'])
    assert.ok(!fs.existsSync(path.join(mp2, 'gone.txt')))
    await ok(['unmount', 'vol'])
    assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.')), [])
  })

  test('a tmpfs volume keeps its changes in memory only, gone after the last unmount', async () => {
    await ok(['create', 'mem', '--base', base, '--volatile', '--tmpfs', '--size', '16M'])
    assert.equal(fs.existsSync(path.join(tmp.root, 'mem', 'limit.img')), false)
    const mp = await ok(['mount', 'mem', '--id', 'a'])
    await ok(['mount', 'mem', '--id', 'b'])
    const limit = path.join(tmp.root, 'mem', 'limit')
    const fsMount = mountOf(limit)
    assert.equal(fsMount?.fstype, 'tmpfs')
    assert.match(fsMount?.superOptions ?? '', /size=16384k/)
    assert.match(mountOf(mp)?.superOptions ?? '', new RegExp(`upperdir=${limit}/upper`))
    fs.writeFileSync(path.join(mp, 'in-memory.txt'), 'never on disk\n')
    assert.ok(fs.existsSync(path.join(limit, 'upper', 'in-memory.txt')))
    assert.match(fill(path.join(mp, 'big'), 32).stderr, /No space left on device/)
    fs.rmSync(path.join(mp, 'big'))
    await ok(['unmount', 'mem', '--id', 'a'])
    assert.equal(mountOf(limit)?.fstype, 'tmpfs', 'kept while a user is left')
    await ok(['unmount', 'mem', '--id', 'b'])
    assert.equal(mountOf(limit), undefined, 'the tmpfs is gone with the last user')
    assert.deepEqual(fs.readdirSync(limit), [], 'nothing was written below it on disk')
    assert.equal(await ok(['diff', 'mem']), '')
    const mp2 = await ok(['mount', 'mem'])
    assert.ok(!fs.existsSync(path.join(mp2, 'in-memory.txt')))
    assert.equal(fs.readFileSync(path.join(mp2, 'base.txt'), 'utf8'), 'from the base\n')
    await ok(['unmount', 'mem'])
  })

  test('snapshots of a size-limited or tmpfs volume are refused as unsupported, nothing written', async () => {
    await ok(['create', 'nosnap', '--base', base, '--size', '16M'])
    await ok(['create', 'nosnap-t', '--base', base, '--volatile', '--tmpfs'])
    for (const name of ['nosnap', 'nosnap-t']) {
      const result = await dot(['snapshot', name, 's1'])
      assert.equal(result.code, 6, result.stderr)
      assert.match(result.stderr, /file system of their own .*snapshots are not supported/)
      assert.ok(!fs.existsSync(path.join(tmp.root, name, 'layers')))
      assert.equal(JSON.parse(await ok(['snapshots', name, '--json'])).length, 0)
    }
    await ok(['rm', 'nosnap', 'nosnap-t'])
  })

  test('dot rm removes the image, its mount and its loop device', async () => {
    await ok(['create', 'gone', '--base', base, '--size', '16M'])
    await ok(['mount', 'gone'])
    await ok(['unmount', 'gone'])
    assert.equal(loopsBelow(path.join(tmp.root, 'gone')).length, 1)
    await ok(['rm', 'gone'])
    assert.ok(!fs.existsSync(path.join(tmp.root, 'gone')))
    assert.equal(mountOf(path.join(tmp.root, 'gone', 'limit')), undefined)
    // The unmount detached the AUTOCLEAR device.
    assert.deepEqual(loopsBelow(tmp.root).filter((d) => d.includes('gone')), [])
    assert.deepEqual(loopsBelow(path.join(tmp.root, '.trash-gone')), [])
    assert.deepEqual(fs.readdirSync(tmp.root).filter((n) => n.startsWith('.')), [])
  })

  test('sizes and hosts that cannot be honoured are refused at create, with nothing written', async () => {
    const fresh = new TempRoot('dot-test-size-bad-')
    try {
      const bad = (args: string[], env: NodeJS.ProcessEnv = {}) => runDot(['create', 'x', '--base', base, ...args, '--root', fresh.root], {env})
      const cases: Array<[string[], RegExp, number, NodeJS.ProcessEnv?]> = [
        [['--size', '0'], /a size limit must be greater than zero/, 2],
        [['--size', '-1'], /a size cannot be negative/, 2],
        [['--size', '10Q'], /unknown unit "Q"/, 2],
        [['--size', 'lots'], /not a size/, 2],
        [['--size', '8M'], /the smallest limit is 16M/, 2],
        [['--size', '1000T'], /more than the free space of the file system holding/, 6],
        [['--tmpfs'], /option "tmpfs" needs volatile=true/, 2],
        [['-o', 'tmpfs=maybe', '--volatile'], /invalid value "maybe" for option "tmpfs"/, 2],
        [['--size', '64M'], /mkfs\.ext4 is not on PATH/, 6, {PATH: path.dirname(process.execPath)}],
      ]
      for (const [args, message, code, env] of cases) {
        const result = await bad(args, env)
        assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`)
        assert.match(result.stderr, message)
        assert.doesNotMatch(result.stderr, /^\s+at /m)
        assert.equal(fs.existsSync(fresh.root), false, `nothing written for ${args.join(' ')}`)
      }
      // Units: any case, optional B or iB; a bare number is bytes.
      await ok(['create', 'units', '--base', base, '--size', '16mib'])
      assert.equal(JSON.parse(fs.readFileSync(path.join(tmp.root, 'units', 'metadata.json'), 'utf8')).SizeLimit, 16 * MiB)
      await ok(['create', 'bytes', '--base', base, '--size', String(20 * MiB)])
      assert.equal(JSON.parse(fs.readFileSync(path.join(tmp.root, 'bytes', 'metadata.json'), 'utf8')).SizeLimit, 20 * MiB)
      // A plain volume keeps the Go original's three keys.
      await ok(['create', 'plain', '--base', base])
      assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(path.join(tmp.root, 'plain', 'metadata.json'), 'utf8'))), ['BaseDirPath', 'Volatile', 'CreatedAt'])
      assert.ok(fs.existsSync(path.join(tmp.root, 'plain', 'upper')))
    } finally {
      fresh.cleanup()
    }
  })
})
