import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import type {Check} from '../../src/core/doctor/check.js'
import {ServeProcess} from '../plugin/plugin-process.js'
import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {parseJson, runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'

interface Report {
  checks: Check[]
  ok: boolean
}

const byId = (report: Report) => Object.fromEntries(report.checks.map((c) => [c.id, c]))

describe('dot doctor', rootOnly(), () => {
  const tmp = new TempRoot('dot-test-doctor-')
  const socket = path.join(tmp.dir, 'plugin.sock')
  let serve: ServeProcess | undefined

  before(() => assertRoot())
  after(async () => {
    await serve?.stop()
    tmp.cleanup()
  })

  test('on this machine with dot serve running: every check passes, one line each, exit 0', async () => {
    fs.mkdirSync(tmp.root)
    serve = await ServeProcess.start({root: tmp.root, socket})
    const doctor = (json: boolean) => runDot(['doctor', '--root', tmp.root, '--socket', socket, ...(json ? ['--json'] : [])])
    const json = await doctor(true)
    const report = parseJson(json) as Report
    assert.equal(json.code, 0, json.stdout)
    assert.equal(report.ok, true)
    const checks = byId(report)
    for (const id of ['overlay', 'privileges', 'root', 'root-fs', 'root-xattrs', 'root-flock', 'root-overlay', 'root-space', 'root-inodes', 'socket', 'stale-state', 'bases']) {
      assert.equal(checks[id]?.status, 'ok', `${id}: ${JSON.stringify(checks[id])}`)
    }
    for (const id of ['overlay-redirect-dir', 'overlay-index', 'overlay-metacopy', 'docker', 'podman', 'service']) assert.ok(checks[id], `${id} is reported`)
    assert.deepEqual(fs.readdirSync(tmp.root).filter((e) => e.startsWith('.tmp-doctor')), [], 'the scratch directory is gone')
    assert.deepEqual(tmp.mounts(), [], 'the probe overlay is unmounted')

    const human = await doctor(false)
    assert.equal(human.code, 0, human.stderr)
    const lines = human.stdout.trimEnd().split('\n')
    assert.equal(lines.length, report.checks.length + 1, human.stdout)
    for (const [i, c] of report.checks.entries()) assert.match(lines[i], new RegExp(`^(ok|warn|FAIL|info|skip) +${c.id} +\\S`))
    assert.match(lines.at(-1)!, /^0 failed, \d+ warning\(s\), \d+ ok$/)
  })

  test('a broken root: on overlayfs, a crash leftover, a volume whose base is gone, no plugin: each named with a fix, exit 8', async () => {
    // The root inside an overlay (as in a container whose / is overlayfs).
    const layers = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(tmp.dir, 'ovl', d))
    for (const dir of layers) fs.mkdirSync(dir, {recursive: true})
    execFileSync('mount', ['-t', 'overlay', 'dot-test-doctor', '-o', `lowerdir=${layers[0]},upperdir=${layers[1]},workdir=${layers[2]}`, layers[3]])
    const root = path.join(layers[3], 'root')
    fs.mkdirSync(path.join(root, '.tmp-left-by-a-crash'), {recursive: true})
    fs.mkdirSync(path.join(root, 'orphan', 'upper'), {recursive: true})
    fs.writeFileSync(path.join(root, 'orphan', 'metadata.json'), JSON.stringify({BaseDirPath: path.join(tmp.dir, 'gone'), Volatile: false}))

    const result = await runDot(['doctor', '--root', root, '--socket', path.join(tmp.dir, 'no-plugin.sock'), '--json'])
    assert.equal(result.code, 8, result.stdout)
    const report = parseJson(result) as Report
    assert.equal(report.ok, false)
    const checks = byId(report)
    assert.equal(checks['root-fs'].status, 'fail')
    assert.match(checks['root-fs'].message, /is on overlayfs, which overlayfs cannot use for upper layers/)
    assert.match(checks['root-fs'].fix!, /local ext4, xfs or btrfs/)
    assert.equal(checks.socket.status, 'fail')
    assert.match(checks.socket.message, /no-plugin\.sock does not exist/)
    assert.match(checks.socket.fix!, /systemctl start docker-on-top/)
    assert.equal(checks['stale-state'].status, 'warn')
    assert.match(checks['stale-state'].message, /\.tmp-left-by-a-crash/)
    assert.match(checks['stale-state'].fix!, /^dot gc/)
    assert.equal(checks.bases.status, 'warn')
    assert.match(checks.bases.message, /orphan \(.*\/gone\)/)
    assert.ok(fs.existsSync(path.join(root, '.tmp-left-by-a-crash')), 'doctor repairs nothing')
    assert.deepEqual(fs.readdirSync(root).filter((e) => e.startsWith('.tmp-doctor')), [])

    const human = await runDot(['doctor', '--root', root, '--socket', path.join(tmp.dir, 'no-plugin.sock')])
    assert.equal(human.code, 8)
    assert.match(human.stdout, /^FAIL +root-fs +root .* is on overlayfs, .*; fix: put the root on a local ext4/m)
    assert.match(human.stdout, /^\d+ failed, \d+ warning\(s\), \d+ ok: exit 8$/m)
  })

  test('a root that is a file fails, and so does a run without root privileges', async () => {
    const file = path.join(tmp.dir, 'a-file')
    fs.writeFileSync(file, '')
    const report = parseJson(await runDot(['doctor', '--root', file, '--socket', socket, '--json'])) as Report
    assert.equal(byId(report).root.status, 'fail')
    assert.match(byId(report).root.message, /is not a directory/)

    fs.chmodSync(tmp.dir, 0o755)
    const asNobody = await runDot(['doctor', '--root', tmp.root, '--socket', socket, '--json'], {prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], env: {HOME: '/tmp'}})
    assert.equal(asNobody.code, 8, asNobody.stdout)
    const privileges = byId(parseJson(asNobody) as Report).privileges
    assert.equal(privileges.status, 'fail')
    assert.equal(privileges.fix, 'sudo dot doctor')
  })
})
