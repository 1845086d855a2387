import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {dotArgs} from './cli-fixtures.js'

/** Runs `script` with sh as uid/gid 1000 with no supplementary groups (a container's non-root user). */
function asUser(script: string, uid = 1000): {code: number; stderr: string; stdout: string} {
  const result = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'sh', '-c', script], {encoding: 'utf8'})
  return {code: result.status ?? 1, stderr: result.stderr, stdout: result.stdout}
}

/** A POSIX ACL in the kernel's xattr format (system.posix_acl_access): version 2, then tag/perm/id entries. */
function aclXattr(entries: [tag: number, perm: number, id: number][]): Buffer {
  const buf = Buffer.alloc(4 + entries.length * 8)
  buf.writeUInt32LE(2, 0)
  entries.forEach(([tag, perm, id], i) => {
    buf.writeUInt16LE(tag, 4 + i * 8)
    buf.writeUInt16LE(perm, 6 + i * 8)
    buf.writeUInt32LE(id, 8 + i * 8)
  })
  return buf
}
const ACL_USER_OBJ = 0x01
const ACL_USER = 0x02
const ACL_GROUP_OBJ = 0x04
const ACL_MASK = 0x10
const ACL_OTHER = 0x20
const NO_ID = 0xffffffff

function getXattr(file: string, name: string): string | undefined {
  try {
    return execFileSync('getfattr', ['--absolute-names', '-e', 'hex', '-n', name, file], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
      .split('\n')
      .find((l) => l.startsWith(`${name}=`))
      ?.slice(name.length + 1)
  } catch {
    return undefined
  }
}

/**
 * Issue 10, item 1: the top of a volume's view is the base's top (owner, group, mode, ACLs and the
 * xattrs overlayfs copies up), at create and again at a first mount after the base changed; what
 * holds a volume's changes is not readable by users who cannot read the base.
 */
describe('the top of the view is the base\'s; changes are not exposed', rootOnly(), () => {
  let tmp: TempRoot
  const dot = (...command: string[]) => runDot(dotArgs(tmp.root, command))
  const ok = async (...command: string[]) => {
    const result = await dot(...command)
    assert.equal(result.code, 0, `dot ${command.join(' ')}: ${result.stderr}`)
    return result.stdout.trim()
  }
  /** Where a container would see the view: a bind mount of the mountpoint in a directory anyone can reach. */
  const bindOf = (name: string) => path.join(tmp.dir, 'binds', name)
  const bind = (name: string) => {
    fs.mkdirSync(bindOf(name), {recursive: true})
    execFileSync('mount', ['--bind', path.join(tmp.root, name, 'mountpoint'), bindOf(name)])
  }
  const unbind = (name: string) => execFileSync('umount', [bindOf(name)])
  const mode = (p: string) => fs.statSync(p).mode & 0o7777

  before(() => {
    assertRoot()
    tmp = new TempRoot('dot-test-top-')
    // Reachable by uid 1000 down to the bases and the binds; the store root makes its own modes.
    fs.chmodSync(tmp.dir, 0o755)
    fs.mkdirSync(path.join(tmp.dir, 'bases'), {mode: 0o755})
    fs.mkdirSync(path.join(tmp.dir, 'binds'), {mode: 0o755})
  })
  after(() => tmp?.cleanup())

  test('uid 1000 creates a file at the top of a volume whose base is 1000:1000 0750', async () => {
    const base = tmp.base('owned', {'inside.txt': 'in the base\n'})
    fs.chownSync(base, 1000, 1000)
    fs.chmodSync(base, 0o750)
    await ok('create', 'owned', '--base', base)
    await ok('mount', 'owned')
    bind('owned')
    try {
      const top = fs.statSync(bindOf('owned'))
      assert.deepEqual([top.uid, top.gid, top.mode & 0o7777], [1000, 1000, 0o750], 'the top of the view is the base\'s owner, group and mode')
      const wrote = asUser(`echo mine > ${bindOf('owned')}/new.txt && cat ${bindOf('owned')}/inside.txt`)
      assert.equal(wrote.code, 0, `uid 1000 could not create a file at the top: ${wrote.stderr}`)
      assert.equal(wrote.stdout, 'in the base\n')
      assert.equal(fs.statSync(path.join(bindOf('owned'), 'new.txt')).uid, 1000)
      assert.notEqual(asUser(`ls ${bindOf('owned')}`, 1001).code, 0, 'others still cannot list it (0750)')
    } finally {
      unbind('owned')
      await ok('unmount', 'owned')
    }
  })

  test('a 0700 base: neither the mountpoint nor the upper layer is readable by another uid', async () => {
    const base = tmp.base('private', {'secret.txt': 'secret\n'})
    fs.chmodSync(base, 0o700)
    await ok('create', 'private', '--base', base)
    const volumeDir = path.join(tmp.root, 'private')
    await ok('mount', 'private')
    try {
      fs.writeFileSync(path.join(volumeDir, 'mountpoint', 'changed.txt'), 'a change\n', {mode: 0o644})
      assert.equal(mode(path.join(volumeDir, 'mountpoint')), 0o700, 'the view\'s top is the base\'s 0700')
      for (const p of [path.join(volumeDir, 'mountpoint'), path.join(volumeDir, 'upper'), path.join(volumeDir, 'upper', 'changed.txt'), path.join(volumeDir, 'mountpoint', 'changed.txt')]) {
        const seen = asUser(`ls ${p} || exit 1; cat ${p} 2>/dev/null; true`)
        assert.notEqual(seen.code, 0, `uid 1000 can reach ${p}: ${seen.stdout}`)
      }
      for (const dir of [volumeDir, path.join(volumeDir, 'workdir')]) assert.equal(mode(dir) & 0o077, 0, `${dir} is ${mode(dir).toString(8)}: it holds changes, 0700 expected`)
    } finally {
      await ok('unmount', 'private')
    }
  })

  test('ACLs and user xattrs of the base\'s top are the view\'s top', async () => {
    const base = tmp.base('acl', {'f.txt': 'f\n'})
    fs.chmodSync(base, 0o750)
    const acl = aclXattr([
      [ACL_USER_OBJ, 7, NO_ID],
      [ACL_USER, 7, 1000],
      [ACL_GROUP_OBJ, 5, NO_ID],
      [ACL_MASK, 7, NO_ID],
      [ACL_OTHER, 0, NO_ID],
    ])
    execFileSync('setfattr', ['-n', 'system.posix_acl_access', '-v', `0x${acl.toString('hex')}`, base])
    execFileSync('setfattr', ['-n', 'user.dataset', '-v', 'v1', base])
    await ok('create', 'acl', '--base', base)
    await ok('mount', 'acl')
    bind('acl')
    try {
      assert.equal(getXattr(bindOf('acl'), 'system.posix_acl_access'), `0x${acl.toString('hex')}`, 'the ACL is the base\'s')
      assert.equal(getXattr(bindOf('acl'), 'user.dataset'), `0x${Buffer.from('v1').toString('hex')}`)
      const wrote = asUser(`echo by-acl > ${bindOf('acl')}/acl.txt`)
      assert.equal(wrote.code, 0, `the ACL grants uid 1000 write access: ${wrote.stderr}`)
    } finally {
      unbind('acl')
      await ok('unmount', 'acl')
    }
  })

  test('a base changed while idle: the next first mount takes its owner and mode, never loosening; the volume\'s own chmod stays', async () => {
    const base = tmp.base('changing', {'f.txt': 'f\n'})
    fs.chmodSync(base, 0o755)
    await ok('create', 'changing', '--base', base)
    const top = path.join(tmp.root, 'changing', 'mountpoint')
    await ok('mount', 'changing')
    fs.chmodSync(top, 0o775) // a change made through the view: the volume's own
    await ok('unmount', 'changing')
    await ok('mount', 'changing')
    assert.equal(mode(top), 0o775, 'with the base unchanged, the volume\'s own chmod stays')
    await ok('unmount', 'changing')

    fs.chownSync(base, 1000, 1000)
    fs.chmodSync(base, 0o750)
    await ok('mount', 'changing')
    let st = fs.statSync(top)
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 1000, 0o750], 'the base\'s new owner and (tighter) mode')
    await ok('unmount', 'changing')

    fs.chmodSync(base, 0o777)
    await ok('mount', 'changing')
    st = fs.statSync(top)
    assert.equal(st.mode & 0o7777, 0o750, 'a looser base does not loosen the top over the changes it holds')
    await ok('unmount', 'changing')
  })
})
