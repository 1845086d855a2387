import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {parseMountinfo, readMountinfo, unescapeMountinfo} from '../../src/core/kernel/mountinfo.js'
import {countOverlays} from '../../src/core/kernel/overlays.js'

// Lines as proc(5) documents them, taken from a real /proc/self/mountinfo and adapted.
const SAMPLE = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '40 22 0:35 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '41 22 0:36 / /sys rw,nosuid shared:7 master:3 propagate_from:2 unbindable - sysfs sysfs rw',
  '120 22 0:50 / /var/lib/docker-on-top/v1/mountpoint rw,relatime shared:60 - overlay docker-on-top_v1 rw,lowerdir=/srv/data,upperdir=/var/lib/docker-on-top/v1/upper,workdir=/var/lib/docker-on-top/v1/workdir',
  '121 22 0:51 / /tmp/with\\040space/and\\011tab/nl\\012x/back\\134slash rw - overlay docker-on-top_odd rw,lowerdir=/a\\054b',
  '122 120 0:52 / /var/lib/docker-on-top/v1/mountpoint rw - overlay docker-on-top_v1 rw',
  '',
].join('\n')

describe('mountinfo', () => {
  const entries = parseMountinfo(SAMPLE)

  test('every well-formed line becomes an entry; the trailing empty line does not', () => {
    assert.equal(entries.length, 7)
  })

  test('fields are read around the optional fields (none, one, several)', () => {
    assert.deepEqual(entries[0], {id: 22, parentId: 1, dev: '8:1', root: '/', mountpoint: '/', options: 'rw,relatime', fstype: 'ext4', source: '/dev/sda1', superOptions: 'rw'})
    assert.deepEqual(entries[1], {id: 36, parentId: 35, dev: '98:0', root: '/mnt1', mountpoint: '/mnt2', options: 'rw,noatime', fstype: 'ext3', source: '/dev/root', superOptions: 'rw,errors=continue'})
    assert.equal(entries[2].fstype, 'proc')
    assert.equal(entries[2].mountpoint, '/proc')
    assert.equal(entries[3].fstype, 'sysfs')
    assert.equal(entries[3].source, 'sysfs')
    assert.equal(entries[4].fstype, 'overlay')
    assert.equal(entries[4].source, 'docker-on-top_v1')
    assert.match(entries[4].superOptions, /lowerdir=\/srv\/data/)
  })

  test('octal escapes in paths are decoded: \\040 space, \\011 tab, \\012 newline, \\134 backslash', () => {
    assert.equal(entries[5].mountpoint, '/tmp/with space/and\ttab/nl\nx/back\\slash')
    assert.equal(unescapeMountinfo('/a\\040b'), '/a b')
    assert.equal(unescapeMountinfo('/plain'), '/plain')
  })

  test('an escaped backslash followed by digits is decoded once, not twice', () => {
    // The path "/x\040" (backslash, 0, 4, 0) is written by the kernel as "/x\134040".
    assert.equal(unescapeMountinfo('/x\\134040'), '/x\\040')
  })

  test('overlays are counted per mountpoint, so a stacked overlay shows as 2', () => {
    const counts = countOverlays(entries)
    assert.equal(counts.get('/var/lib/docker-on-top/v1/mountpoint'), 2)
    assert.equal(counts.get('/tmp/with space/and\ttab/nl\nx/back\\slash'), 1)
    assert.equal(counts.has('/'), false)
    assert.equal(counts.size, 2)
  })

  test('counted below a root, only the overlays under it are', () => {
    assert.deepEqual([...countOverlays(entries, '/var/lib/docker-on-top')], [['/var/lib/docker-on-top/v1/mountpoint', 2]])
    assert.deepEqual([...countOverlays(entries, '/var/lib/docker-on-top/')], [['/var/lib/docker-on-top/v1/mountpoint', 2]])
    assert.equal(countOverlays(entries, '/var/lib/docker').size, 0, 'a root is a directory, not a string prefix')
  })

  test('truncated or malformed lines are skipped rather than misread', () => {
    assert.deepEqual(parseMountinfo('garbage\n1 2 3\n22 1 8:1 / / rw shared:1 ext4 /dev/sda1 rw\n'), [])
  })

  test('the live /proc/self/mountinfo parses and contains the root mount', async () => {
    const live = await readMountinfo()
    assert.ok(live.length > 0)
    assert.ok(live.some((e) => e.mountpoint === '/'))
    for (const e of live) {
      assert.ok(Number.isInteger(e.id) && e.id > 0, `id of ${e.mountpoint}`)
      assert.ok(e.mountpoint.startsWith('/'))
      assert.notEqual(e.fstype, '')
    }
  })
})
