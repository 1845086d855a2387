import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {execa} from 'execa'

import {VolumeStore} from '../../src/core/volume/store.js'
import {assertDocker, assertRoot, dockerHost, dockerOnly, MANDATORY, rootOnly, whyNoRoot} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {copyView, fixtureBase, writeFixture} from './changes-fixture.js'
import {compareTrees, readTree, type Tree} from './recover-tree.js'

/** Paths the image has that the volume has not: the runner's busybox, and what docker run adds. */
const NOT_OURS = /^\.\/(\.dot-bin|proc|sys|dev|etc|\.dockerenv)([/| ]|$)/
const BUSYBOX = '/bin/busybox'

function whyNoUmoci(): string | undefined {
  const root = whyNoRoot()
  if (root) return root
  try {
    execFileSync('umoci', ['--version'], {stdio: 'ignore'})
    return undefined
  } catch {
    return 'needs umoci (apt-get install umoci; .ci/run installs it)'
  }
}

/**
 * The exported layer read by tools no one here wrote: dockerd (`docker load` of an image whose layers
 * are the base and the exported changes, then `docker run` lists the tree) and umoci (unpacks the same
 * image in OCI layout). Both must show the volume's merged view.
 */
describe('the exported layer is a layer to docker and to umoci', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-changes-oci-')
  let reference: Tree
  let referenceDir: string
  let layers: string[]
  const file = (name: string) => path.join(tmp.dir, name)

  before(async () => {
    assertRoot()
    const base = fixtureBase(tmp, 'data')
    const store = await VolumeStore.open({root: tmp.root})
    await store.create('v', {base})
    await writeFixture(store, 'v', base, {sparseBytes: 8 * 1024 * 1024, many: 30})
    referenceDir = file('reference')
    await copyView(store, 'v', referenceDir)
    reference = await readTree(referenceDir)
    const exported = await runDot(['export', 'v', '--to', file('changes.tar'), '--root', tmp.root])
    assert.equal(exported.code, 0, exported.stderr)
    // The base as a layer of its own (a plain tar of it), below the changes.
    await execa('tar', ['-c', '-f', file('base.tar'), '-C', base, '--format=posix', '--numeric-owner', '--xattrs', '--xattrs-include=*', '.'])
    layers = [file('base.tar'), file('changes.tar')]
  })
  after(() => tmp.cleanup())

  test('docker load, then docker run --network none shows the merged view', dockerOnly(), async () => {
    assertDocker()
    fs.mkdirSync(file('runner/.dot-bin'), {recursive: true})
    fs.copyFileSync(BUSYBOX, file('runner/.dot-bin/busybox'))
    fs.chmodSync(file('runner/.dot-bin/busybox'), 0o755)
    await execa('tar', ['-c', '-f', file('runner.tar'), '-C', file('runner'), '--numeric-owner', '--no-recursion', './.dot-bin', './.dot-bin/busybox'])
    const tag = `dot-test-layer-${process.pid}:latest`
    const image = await dockerArchive([file('runner.tar'), ...layers], tag, file('image'))
    const docker = (...args: string[]) => execa('docker', args, {env: {DOCKER_HOST: dockerHost()}, reject: false})
    try {
      const loaded = await docker('load', '-i', image)
      assert.equal(loaded.exitCode, 0, loaded.stderr)
      const bb = '/.dot-bin/busybox'
      const script = [
        `cd / && ${bb} find . -xdev -exec ${bb} stat -c '%n|%f|%u|%g|%s|%Y|%h' {} +`,
        `${bb} find . -xdev -type f -exec ${bb} md5sum {} +`,
        `${bb} find . -xdev -type l -exec ${bb} sh -c 'for l; do echo "$l -> $(${bb} readlink "$l")"; done' sh {} +`,
      ].join('; echo ===; ')
      const run = await docker('run', '--rm', '--network', 'none', '--entrypoint', bb, tag, 'sh', '-c', script)
      assert.equal(run.exitCode, 0, run.stderr)
      const [stats, sums, links] = listing(run.stdout)
      assert.deepEqual([stats, sums, links], listing(await hostListing(referenceDir)))
      const names = stats.map((line) => line.split('|')[0])
      for (const p of ['./renamed-dir/inner/kept', './redo/fresh', './sparse.img', './null-device']) assert.ok(names.includes(p), `${p} in the container`)
      for (const p of ['./delete.txt', './moved-dir', './redo/old1', './olddir']) assert.ok(!names.includes(p), `${p} deleted in the container`)
      assert.ok(sums.length > 30 && links.length >= 3, 'contents and symlink targets compared')
    } finally {
      await docker('image', 'rm', '-f', tag)
    }
  })

  test('umoci unpacks the same tree', {skip: !MANDATORY && whyNoUmoci()}, async () => {
    const reason = whyNoUmoci()
    if (reason) throw new Error(`required test cannot run: ${reason}`)
    const layout = await ociLayout(layers, file('oci'))
    const unpacked = await execa('umoci', ['unpack', '--image', `${layout}:test`, file('bundle')], {reject: false})
    assert.equal(unpacked.exitCode, 0, unpacked.stderr)
    assert.deepEqual(compareTrees(reference, await readTree(file('bundle/rootfs')), {ignoreRootMtime: true}).filter((p) => !p.startsWith('/: ')), [])
  })
})

/** The three listings of the runner script, as sets of lines without what the image adds. */
function listing(text: string): string[][] {
  return text.split('===').map((part) =>
    part
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !NOT_OURS.test(line.replace(/^[0-9a-f]{32}\s+/, '')) && !line.startsWith('.|'))
      .map(normalise)
      .sort(),
  )
}

/** Sizes and link counts of directories depend on the file system: left out. */
function normalise(line: string): string {
  const fields = line.split('|')
  if (fields.length === 7 && (Number.parseInt(fields[1], 16) & 0o170000) === 0o040000) return [...fields.slice(0, 4), '-', fields[5], '-'].join('|')
  return line
}

/** The same three listings, made on the host with the host's busybox in the reference copy. */
async function hostListing(dir: string): Promise<string> {
  const bb = BUSYBOX
  const script = [
    `cd "$0" && ${bb} find . -xdev -exec ${bb} stat -c '%n|%f|%u|%g|%s|%Y|%h' {} +`,
    `${bb} find . -xdev -type f -exec ${bb} md5sum {} +`,
    `${bb} find . -xdev -type l -exec ${bb} sh -c 'for l; do echo "$l -> $(${bb} readlink "$l")"; done' sh {} +`,
  ].join('; echo ===; ')
  return (await execa(bb, ['sh', '-c', script, dir])).stdout
}

async function sha256(file: string): Promise<{digest: string; size: number}> {
  const hash = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return {digest: hash.digest('hex'), size: fs.statSync(file).size}
}

function imageConfig(diffIds: string[]): string {
  const architecture = process.arch === 'x64' ? 'amd64' : process.arch
  return JSON.stringify({architecture, os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: diffIds.map((d) => `sha256:${d}`)}})
}

/** An image archive as `docker save` writes it: manifest.json, the config, one tar per layer. */
async function dockerArchive(layerFiles: string[], tag: string, dir: string): Promise<string> {
  fs.mkdirSync(dir, {recursive: true})
  const names: string[] = []
  const diffIds: string[] = []
  for (const [i, layer] of layerFiles.entries()) {
    names.push(`layer${i}.tar`)
    fs.copyFileSync(layer, path.join(dir, `layer${i}.tar`))
    diffIds.push((await sha256(layer)).digest)
  }
  fs.writeFileSync(path.join(dir, 'config.json'), imageConfig(diffIds))
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify([{Config: 'config.json', RepoTags: [tag], Layers: names}]))
  const archive = `${dir}.tar`
  await execa('tar', ['-c', '-f', archive, '-C', dir, 'manifest.json', 'config.json', ...names])
  return archive
}

/** An OCI image layout (oci-layout, index.json, blobs/sha256/...) with one image tagged "test". */
async function ociLayout(layerFiles: string[], dir: string): Promise<string> {
  const blobs = path.join(dir, 'blobs', 'sha256')
  fs.mkdirSync(blobs, {recursive: true})
  const blob = (data: string) => {
    const digest = createHash('sha256').update(data).digest('hex')
    fs.writeFileSync(path.join(blobs, digest), data)
    return {digest: `sha256:${digest}`, size: Buffer.byteLength(data)}
  }
  const layerDescriptors = []
  const diffIds: string[] = []
  for (const layer of layerFiles) {
    const {digest, size} = await sha256(layer)
    fs.copyFileSync(layer, path.join(blobs, digest))
    diffIds.push(digest)
    layerDescriptors.push({mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${digest}`, size})
  }
  const config = blob(imageConfig(diffIds))
  const manifest = blob(
    JSON.stringify({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {mediaType: 'application/vnd.oci.image.config.v1+json', ...config}, layers: layerDescriptors}),
  )
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({schemaVersion: 2, manifests: [{mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: {'org.opencontainers.image.ref.name': 'test'}}]}),
  )
  return dir
}
