import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {type ExtJournal, judgeOrder, mountOf} from '../../src/core/kernel/fs-order.js'
import {parseMountinfo} from '../../src/core/kernel/mountinfo.js'
import {lostToPowerCut} from '../../src/core/disk/metadata-copy.js'

const TABLE = parseMountinfo(
  [
    '22 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '30 22 8:1 / /var/lib rw - xfs /dev/sda1 rw',
    '31 30 8:2 / /var/lib/docker-on-top rw - btrfs /dev/sda2 rw',
    '32 22 0:40 / /run rw - tmpfs tmpfs rw',
    '33 22 8:3 / /srv rw - ext4 /dev/sdb rw',
    '34 22 0:41 / /srv rw - nfs4 host:/export rw', // mounted over the ext4: the visible one
    '35 22 8:4 / /data rw - ext2 /dev/sdc rw',
    '',
  ].join('\n'),
)

const mount = (p: string) => mountOf(p, TABLE)

describe('which mount a root is on', () => {
  test('the longest mountpoint above the path, whether the path exists or not', () => {
    assert.equal(mount('/var/lib/docker-on-top')?.fstype, 'btrfs')
    assert.equal(mount('/var/lib/docker-on-topx')?.fstype, 'xfs', 'a mountpoint is a whole path component')
    assert.equal(mount('/var/lib/other/root')?.fstype, 'xfs')
    assert.equal(mount('/home/x')?.fstype, 'ext4')
    assert.equal(mount('/run/dot')?.fstype, 'tmpfs')
  })

  test('of two mounts on one mountpoint, the one mounted last (on top)', () => {
    assert.equal(mount('/srv/root')?.fstype, 'nfs4')
  })
})

describe('whether a file system keeps metadata in order after a power cut', () => {
  const ext = (found: ExtJournal) => () => found
  const ext4 = mount('/home')

  test('ext4 with a journal: ordered; without one, or data=writeback: not', () => {
    assert.equal(judgeOrder(ext4, ext({device: 'vda', journal: true, writeback: false})).ordered, true)
    const none = judgeOrder(ext4, ext({device: 'vda', journal: false, writeback: false}))
    assert.deepEqual(none, {ordered: false, why: 'ext4 on vda without a journal (no /proc/fs/jbd2/vda-8)'})
    assert.equal(judgeOrder(ext4, ext({device: 'vda', journal: true, writeback: true})).ordered, false)
    assert.equal(judgeOrder(ext4, ext({journal: false, writeback: false})).why, 'ext4 on 254:0 without a journal (no /proc/fs/jbd2/254:0-8)')
  })

  test('xfs and tmpfs: ordered; btrfs, ext2, nfs, none found: not (the probe is asked only for ext3/ext4)', () => {
    const probe = () => assert.fail('only ext3/ext4 are probed')
    assert.equal(judgeOrder(mount('/var/lib/x'), probe).ordered, true)
    assert.equal(judgeOrder(mount('/run/x'), probe).ordered, true)
    for (const p of ['/var/lib/docker-on-top', '/data/x', '/srv/x']) assert.equal(judgeOrder(mount(p), probe).ordered, false, p)
    assert.deepEqual(judgeOrder(undefined, probe), {ordered: false, why: 'no mount found for the root'})
  })
})

test('what a power cut leaves of an unwritten metadata.json: nothing or NUL bytes; torn JSON is not that', () => {
  for (const text of ['', '\0'.repeat(85), '\0\0\n']) assert.equal(lostToPowerCut(text), true, JSON.stringify(text))
  for (const text of ['{"BaseDirPath": ', '{"BaseDirPath": "/tru', '\0{}']) assert.equal(lostToPowerCut(text), false, JSON.stringify(text))
})
