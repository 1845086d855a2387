import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {METADATA_XATTR} from '../../src/core/disk/metadata-copy.js'
import {getXattr} from '../../src/core/kernel/xattrs.js'
import {type StoreOptions, VolumeStore} from '../../src/core/volume/store.js'
import {mountExt4} from '../helpers/fs-image.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {DOT_BIN} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {overlayCount} from './store-fixtures.js'

/**
 * Whether a new volume must reach the disk before its first mount (docs/rules.md, rule 7). On ext4 with
 * a journal nothing is fsynced: the journal keeps the create's rename and the xattr copy of its metadata
 * in order with everything a container writes later. Elsewhere (ext4 without a journal, as this
 * machine's /tmp and /var/tmp are; DOT_CREATE_SYNC=always; a size= image; no xattr copy) a create
 * answers before its volume is flushed, and its first mount waits for the flush before it records the
 * mount and answers. The store's sync is slowed down here to make the order visible.
 */
describe('store: when a new volume is flushed before its first mount', rootOnly(), () => {
  let tmp: TempRoot
  let journaled: string
  let noJournal: string
  const stores: VolumeStore[] = []
  const events: string[] = []
  const open = async (root: string, options: Partial<StoreOptions> = {}) => {
    const sync = async (p: string) => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      events.push(`synced ${p.slice(root.length) || '/'}`)
    }
    const store = await VolumeStore.open({root, sync, ...options})
    stores.push(store)
    return store
  }
  before(() => {
    assertRoot()
    tmp = new TempRoot('dot-test-durability-')
    journaled = path.join(mountExt4(tmp, 'journaled'), 'root')
    noJournal = path.join(mountExt4(tmp, 'nojournal', ['-O', '^has_journal']), 'root')
  })
  after(async () => {
    for (const store of stores) await store.close()
    tmp?.cleanup()
  })

  /** Create, first mount, unmount, a second mount: the events of the first three, then of the rest. */
  const lifecycle = async (store: VolumeStore, name: string) => {
    events.length = 0
    await store.create(name, {base: tmp.base(name, {f: 'x'})})
    events.push('created')
    const mountpoint = await store.mount(name, 'c1')
    events.push('mounted')
    assert.equal(overlayCount(mountpoint), 1)
    assert.equal(fs.readFileSync(path.join(mountpoint, 'f'), 'utf8'), 'x')
    await store.unmount(name, 'c1')
    await store.settled()
    const first = [...events]
    // A volume flushed (or not needing it) mounts again without waiting for anything.
    events.length = 0
    await store.mount(name, 'c2')
    await store.unmount(name, 'c2')
    assert.equal(overlayCount(mountpoint), 0)
    return {first, second: [...events]}
  }
  const flushedBeforeMount = ['created', 'synced /v/metadata.json', 'synced /v', 'synced /', 'mounted']

  test('ext4 with a journal: a create fsyncs nothing, the first mount waits for nothing, the xattr holds the metadata', async () => {
    const store = await open(journaled)
    assert.deepEqual(store.context.metadataOrder(), {ordered: true, why: `ext4 on ${loopName(path.dirname(journaled))} with a journal: transactions commit in order`})
    assert.deepEqual(await lifecycle(store, 'v'), {first: ['created', 'mounted'], second: []})
    const text = fs.readFileSync(store.layout.metadata('v'), 'utf8')
    assert.equal(getXattr(store.layout.volume('v'), METADATA_XATTR)?.toString('utf8'), text)
    assert.equal(JSON.parse(text).BaseDirPath, tmp.base('v'))
    await store.remove('v')
  })

  test('the fallback, forced (createSync: always): flushed after the answer, before the first mount; the copy is still set', async () => {
    const store = await open(journaled, {createSync: 'always'})
    assert.equal(store.context.metadataOrder().ordered, false)
    assert.deepEqual(await lifecycle(store, 'v'), {first: flushedBeforeMount, second: []})
    assert.ok(getXattr(store.layout.volume('v'), METADATA_XATTR))
    await store.remove('v')
  })

  test('ext4 without a journal (as this machine\'s own disk): the fallback, found from the mount table', async () => {
    const store = await open(noJournal)
    assert.deepEqual(store.context.metadataOrder(), {ordered: false, why: `ext4 on ${loopName(path.dirname(noJournal))} without a journal (no /proc/fs/jbd2/${loopName(path.dirname(noJournal))}-8)`})
    assert.deepEqual(await lifecycle(store, 'v'), {first: flushedBeforeMount, second: []})
    await store.remove('v')
  })

  test('a size-limited volume on ext4 with a journal is flushed all the same (writes into its image are data)', async () => {
    const store = await open(journaled)
    events.length = 0
    await store.create('sized', {base: tmp.base('sized'), size: '16M'})
    await store.settled()
    assert.deepEqual(events, ['synced /sized/metadata.json', 'synced /sized', 'synced /'])
    await store.remove('sized')
  })

  test('dot create without CAP_SYS_ADMIN (no trusted.* xattr): its three fsyncs, as before; with it, none', async () => {
    const created = (name: string, prefix: string[]) => {
      const trace = path.join(tmp.dir, `${name}.strace`)
      const base = tmp.base(name)
      // -y names each fd's file: the CLI's own fsyncs of stdout and stderr at exit are not the root's.
      execFileSync('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync', '-o', trace, ...prefix, process.execPath, DOT_BIN, 'create', name, '--base', base, '--root', journaled], {stdio: ['ignore', 'ignore', 'pipe']})
      return fs.readFileSync(trace, 'utf8').split('\n').filter((line) => /fsync\(\d+</.test(line) && line.includes(`<${journaled}`)).length
    }
    assert.equal(created('withcaps', []), 0)
    assert.ok(getXattr(path.join(journaled, 'withcaps'), METADATA_XATTR))
    assert.equal(created('nocopy', ['setpriv', '--inh-caps', '-sys_admin', '--bounding-set', '-sys_admin', '--']), 3)
    assert.equal(getXattr(path.join(journaled, 'nocopy'), METADATA_XATTR), undefined)
  })
})

/** The kernel's name of the loop device the file system at `dir` is on (loop3). */
function loopName(dir: string): string {
  const dev = fs.statSync(dir).dev
  const [major, minor] = [(dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & 0xfff00)]
  return /^DEVNAME=(.+)$/m.exec(fs.readFileSync(`/sys/dev/block/${major}:${minor}/uevent`, 'utf8'))![1]
}
