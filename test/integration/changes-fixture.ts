import fs from 'node:fs'
import path from 'node:path'

import {execa} from 'execa'

import {readOnlyOverlayMount} from '../../src/core/kernel/overlay-options.js'
import type {VolumeStore} from '../../src/core/volume/store.js'
import type {TempRoot} from '../helpers/temp-root.js'

export const OLD_TIME = new Date('2001-02-03T04:05:06.789Z')

/** The base the fidelity fixture starts from. */
export function fixtureBase(tmp: TempRoot, name: string): string {
  const base = tmp.base(name, {
    'keep.txt': 'unchanged\n',
    'modify.txt': 'original\n',
    'delete.txt': 'to be deleted\n',
    'chmod.txt': 'only the mode changes\n',
    'rename-me.txt': 'renamed\n',
    'olddir/x': 'x\n',
    'olddir/y/z': 'z\n',
    'redo/old1': 'old\n',
    'redo/keep-name': 'old content\n',
    'sub/deep/file': 'deep\n',
    'file-over-dir/child': 'child\n',
    'dir-over-file': 'a file, to become a directory\n',
    'moved-dir/inner/kept': 'moved along\n',
    'moved-dir/gone': 'deleted after the move\n',
    'chown.txt': 'owner changes\n',
  })
  fs.symlinkSync('keep.txt', path.join(base, 'link-to-keep'))
  fs.chownSync(path.join(base, 'chown.txt'), 1000, 1000)
  return base
}

/**
 * Writes the fixture through the mounted volume `name` (on a `fixtureBase`): added, changed,
 * deleted and renamed files and directories, an opaque directory, a directory replaced by a file and
 * the reverse, symlinks, a hard link pair, setuid/setgid/sticky/000 modes, owners, an old mtime, a user
 * xattr, a fifo, a device node, a sparse file of `sparseBytes`, and `many` small files. The directory
 * rename is done first through a second mount of the same layers with redirect_dir=on (the volume's own
 * mount leaves it at the kernel's default, off here), so the upper layer holds a real redirect.
 */
export async function writeFixture(store: VolumeStore, name: string, base: string, options: {sparseBytes: number; many: number}): Promise<void> {
  const mounter = await store.context.mounter()
  const work = store.layout.workdir(name)
  const view = path.join(store.layout.volume(name), 'redirect-view')
  fs.mkdirSync(work, {recursive: true})
  fs.mkdirSync(view, {recursive: true})
  const mount = readOnlyOverlayMount(`dot-test-redirect_${name}`, [base], view)
  mount.data += `,upperdir=${store.layout.upper(name)},workdir=${work},redirect_dir=on`
  await mounter.mount(mount)
  try {
    fs.renameSync(path.join(view, 'moved-dir'), path.join(view, 'renamed-dir'))
    fs.rmSync(path.join(view, 'renamed-dir', 'gone'))
    fs.writeFileSync(path.join(view, 'renamed-dir', 'added-after-move'), 'new in the renamed directory\n')
  } finally {
    await mounter.unmount(view)
    fs.rmdirSync(view)
  }

  const mp = await store.mount(name, 'fixture')
  const at = (p: string) => path.join(mp, p)
  fs.appendFileSync(at('modify.txt'), 'more\n')
  fs.rmSync(at('delete.txt'))
  fs.chmodSync(at('chmod.txt'), 0o600)
  fs.chownSync(at('chown.txt'), 2000, 3000)
  fs.renameSync(at('rename-me.txt'), at('renamed.txt'))
  fs.rmSync(at('olddir'), {recursive: true})
  fs.rmSync(at('redo'), {recursive: true})
  fs.mkdirSync(at('redo'))
  fs.writeFileSync(at('redo/keep-name'), 'new content\n')
  fs.writeFileSync(at('redo/fresh'), 'fresh\n')
  fs.appendFileSync(at('sub/deep/file'), 'deeper\n')
  fs.rmSync(at('file-over-dir'), {recursive: true})
  fs.writeFileSync(at('file-over-dir'), 'now a file\n')
  fs.rmSync(at('dir-over-file'))
  fs.mkdirSync(at('dir-over-file'))
  fs.writeFileSync(at('dir-over-file/inside'), 'now a directory\n')

  fs.writeFileSync(at('new.txt'), 'new\n')
  fs.mkdirSync(at('newdir/inner'), {recursive: true})
  fs.writeFileSync(at('newdir/a'), 'a\n')
  fs.symlinkSync('new.txt', at('newlink'))
  fs.symlinkSync('/nonexistent/target', at('dangling'))
  fs.symlinkSync('../new.txt', at('newdir/uplink'))
  fs.writeFileSync(at('hard1'), 'one inode, two names\n')
  fs.linkSync(at('hard1'), at('hard2'))
  fs.writeFileSync(at('setuid'), '#!/bin/sh\n')
  fs.chmodSync(at('setuid'), 0o4755)
  fs.writeFileSync(at('setgid'), 'g\n')
  fs.chmodSync(at('setgid'), 0o2711)
  fs.writeFileSync(at('nothing'), 'no permissions at all\n')
  fs.chmodSync(at('nothing'), 0o000)
  fs.mkdirSync(at('sticky'))
  fs.chmodSync(at('sticky'), 0o1777)
  fs.writeFileSync(at('owned.txt'), 'not root\n')
  fs.chownSync(at('owned.txt'), 1234, 5678)
  fs.mkdirSync(at('owned-dir'))
  fs.chownSync(at('owned-dir'), 4321, 4321)
  fs.lchownSync(at('newlink'), 1234, 1234)
  fs.writeFileSync(at('old-time.txt'), 'old\n')
  fs.utimesSync(at('old-time.txt'), OLD_TIME, OLD_TIME)
  await execa('setfattr', ['-n', 'user.dot-test', '-v', 'kept', at('new.txt')])
  await execa('mkfifo', [at('fifo')])
  await execa('mknod', [at('null-device'), 'c', '1', '3'])
  const sparse = fs.openSync(at('sparse.img'), 'w')
  fs.writeSync(sparse, 'data in the middle', Math.floor(options.sparseBytes / 2))
  fs.ftruncateSync(sparse, options.sparseBytes)
  fs.closeSync(sparse)
  fs.mkdirSync(at('many'))
  for (let i = 0; i < options.many; i++) fs.writeFileSync(at(`many/f${String(i).padStart(5, '0')}`), `small file ${i}\n`)
  await store.unmount(name, 'fixture')
}

/** The merged view copied with cp -a while mounted: what every operation must reproduce. */
export async function copyView(store: VolumeStore, name: string, to: string): Promise<void> {
  const mp = await store.mount(name, 'copy')
  try {
    await copyTree(mp, to)
  } finally {
    await store.unmount(name, 'copy')
  }
}

/**
 * A copy with everything (GNU tar, --sparse: cp -a reads a 1 GiB sparse file through an overlay). Tar's
 * "file changed as we read it" (exit 1) is overlayfs setting its own xattrs on a first lookup: fine.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  fs.mkdirSync(to, {recursive: true})
  const xattrs = '--xattrs --xattrs-include="*" --numeric-owner'
  await execa('bash', ['-c', `set -o pipefail; tar -c -C "$0" --sparse --warning=no-file-changed ${xattrs} . | tar -x -C "$1" --same-owner --same-permissions ${xattrs}; s=$?; [ $s -le 1 ]`, from, to])
}
