import fs from 'node:fs'
import path from 'node:path'

import {lowerLayerDirs} from '../../src/core/disk/layer-index.js'
import {readOnlyOverlayMount} from '../../src/core/kernel/overlay-options.js'
import type {VolumeStore} from '../../src/core/volume/store.js'
import {runDot} from '../helpers/run-dot.js'
import type {TempRoot} from '../helpers/temp-root.js'
import {copyView, fixtureBase, writeFixture} from './changes-fixture.js'
import {readTree, type Tree} from './recover-tree.js'

export const TAGS = ['s1', 's2', 's3'] as const

/**
 * Renames in the view with redirect_dir=on, through a second mount of the volume's layers (its own
 * mount leaves redirect_dir at the kernel's default): the upper layer gets a real redirect, which the
 * later layers then stack on.
 */
export async function renameWithRedirect(store: VolumeStore, name: string, base: string, renames: [string, string][]): Promise<void> {
  const mounter = await store.context.mounter()
  const work = store.layout.workdir(name)
  const view = path.join(store.layout.volume(name), 'redirect-view')
  fs.mkdirSync(work, {recursive: true})
  fs.mkdirSync(view, {recursive: true})
  const mount = readOnlyOverlayMount(`dot-test-redirect_${name}`, [...lowerLayerDirs(store.layout, name), base], view)
  mount.data += `,upperdir=${store.layout.upper(name)},workdir=${work},redirect_dir=on`
  await mounter.mount(mount)
  try {
    for (const [from, to] of renames) fs.renameSync(path.join(view, from), path.join(view, to))
  } finally {
    await mounter.unmount(view)
    fs.rmdirSync(view)
  }
}

async function throughMount(store: VolumeStore, name: string, write: (at: (p: string) => string) => void): Promise<void> {
  const mp = await store.mount(name, 'history')
  try {
    write((p) => path.join(mp, p))
  } finally {
    await store.unmount(name, 'history')
  }
}

/**
 * Four rounds of changes with a snapshot after each of the first three (s1, s2, s3), each round
 * deleting, replacing and renaming what the rounds before it made: whiteouts over layers, opaque
 * directories over a layer's directory, a directory over a layer's file, a redirect of a redirect, hard
 * links made in one round and cut in another. Returns the view after each round (`views[3]` is the final one).
 */
export async function buildHistory(store: VolumeStore, tmp: TempRoot, name: string, snapshot: (tag: string) => Promise<void>): Promise<{base: string; views: Tree[]}> {
  const base = fixtureBase(tmp, name)
  await store.create(name, {base})
  await writeFixture(store, name, base, {sparseBytes: 1024 * 1024, many: 20})
  const views: Tree[] = []
  const view = async () => {
    const dir = path.join(tmp.dir, `view-${name}-${views.length}-${Math.random().toString(36).slice(2, 6)}`)
    await copyView(store, name, dir)
    const tree = await readTree(dir)
    fs.rmSync(dir, {recursive: true, force: true})
    return tree
  }
  views.push(await view())
  await snapshot('s1')
  await renameWithRedirect(store, name, base, [
    ['renamed-dir', 'twice-renamed'],
    ['sub', 'sub-moved'],
  ])
  await throughMount(store, name, (at) => {
    fs.appendFileSync(at('modify.txt'), 'round two\n')
    fs.rmSync(at('new.txt'))
    fs.rmSync(at('newdir'), {recursive: true})
    fs.mkdirSync(at('newdir'))
    fs.writeFileSync(at('newdir/b'), 'b\n')
    fs.rmSync(at('keep.txt'))
    fs.writeFileSync(at('hard3'), 'a pair made in round two\n')
    fs.linkSync(at('hard3'), at('hard4'))
    fs.writeFileSync(at('twice-renamed/round2'), 'two\n')
  })
  views.push(await view())
  await snapshot('s2')
  await throughMount(store, name, (at) => {
    fs.rmSync(at('twice-renamed/inner'), {recursive: true})
    fs.writeFileSync(at('twice-renamed/new3'), 'three\n')
    fs.mkdirSync(at('dir-over-file/more'))
    fs.rmSync(at('file-over-dir'))
    fs.mkdirSync(at('file-over-dir'))
    fs.writeFileSync(at('file-over-dir/again'), 'a directory again\n')
    fs.writeFileSync(at('many/f00000'), 'changed in round three\n')
    fs.rmSync(at('hard2'))
    fs.rmSync(at('hard4'))
  })
  views.push(await view())
  await snapshot('s3')
  await throughMount(store, name, (at) => {
    fs.writeFileSync(at('after.txt'), 'after the last snapshot\n')
    fs.rmSync(at('sub-moved/deep/file'))
    fs.chmodSync(at('chmod.txt'), 0o644)
    fs.rmSync(at('newdir/b'))
  })
  views.push(await view())
  return {base, views}
}

/** `dot snapshot NAME TAG` through the CLI, failing loudly. */
export async function cliSnapshot(root: string, name: string, tag: string): Promise<void> {
  const result = await runDot(['snapshot', name, tag, '--root', root])
  if (result.code !== 0) throw new Error(`dot snapshot ${name} ${tag}: ${result.stderr}`)
}
