import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {REPO} from '../helpers/run-dot.js'

const UNIT = fs.readFileSync(path.join(REPO, 'docker-on-top.service'), 'utf8')

/** The directives of the unit as key -> values (comments and section headers dropped). */
function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim())
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]])
  }
  return map
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version'], {stdio: 'ignore'}).status === 0

describe('docker-on-top.service', () => {
  const d = directives(UNIT)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-unit-'))
  after(() => fs.rmSync(dir, {recursive: true, force: true}))

  test('runs dot serve before dockerd, is wanted by it, restarts on failure', () => {
    assert.match(d.get('ExecStart')?.[0] ?? '', /\/dot serve$/)
    assert.ok(d.get('Before')?.some((v) => v.split(/\s+/).includes('docker.service')), 'Before=docker.service')
    assert.ok(d.get('WantedBy')?.some((v) => v.split(/\s+/).includes('docker.service')), 'WantedBy=docker.service')
    assert.deepEqual(d.get('Restart'), ['on-failure'])
  })

  test('has no mount-namespace sandboxing (it would hide the overlays from dockerd)', () => {
    for (const key of ['PrivateTmp', 'ProtectSystem', 'ProtectHome', 'PrivateMounts', 'MountFlags', 'PrivateDevices', 'ReadOnlyPaths', 'InaccessiblePaths', 'TemporaryFileSystem', 'BindPaths', 'RootDirectory']) {
      assert.equal(d.get(key), undefined, `${key}= must not be set`)
    }
  })

  test('systemd-analyze verify accepts it (ExecStart pointed at an executable, as install.sh does)', {skip: hasSystemdAnalyze ? false : 'systemd-analyze is not installed'}, () => {
    const bin = path.join(dir, 'dot')
    fs.writeFileSync(bin, '#!/bin/sh\nexit 0\n', {mode: 0o755})
    const unit = path.join(dir, 'docker-on-top.service')
    fs.writeFileSync(unit, UNIT.replace(/^ExecStart=.*$/m, `ExecStart=${bin} serve`))
    // verify exits 0 even for directives it ignores as unparseable, so its stderr must be empty too.
    const result = spawnSync('systemd-analyze', ['verify', unit], {encoding: 'utf8'})
    assert.equal(result.status, 0, result.stderr)
    assert.equal(result.stderr, '')
  })
})
