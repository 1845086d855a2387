import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import {after, describe, test} from 'node:test'

import {dockerSocketPath, dockerVolumesInUse} from '../../src/core/repair/docker-usage.js'

/**
 * How gc reads dockerd's answer. A small HTTP server on a real unix socket plays dockerd's
 * GET /containers/json?all=1 (the shape of Docker Engine API v1.41+); gc-docker.test.ts asks a real one.
 */
describe('dockerVolumesInUse', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dot-test-docker-usage-'))
  const servers: http.Server[] = []
  after(() => {
    servers.forEach((s) => s.close())
    fs.rmSync(dir, {recursive: true, force: true})
  })
  const serve = async (status: number, body: unknown): Promise<{host: string; requests: string[]}> => {
    const socket = path.join(dir, `d${servers.length}.sock`)
    const requests: string[] = []
    const server = http.createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`)
      res.writeHead(status, {'Content-Type': 'application/json'})
      res.end(JSON.stringify(body))
    })
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(socket, resolve))
    return {host: `unix://${socket}`, requests}
  }

  test('DOCKER_HOST: unix sockets only, the default socket otherwise', () => {
    assert.deepEqual(dockerSocketPath({}), {host: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock'})
    assert.deepEqual(dockerSocketPath({DOCKER_HOST: 'unix:///run/x.sock'}), {host: 'unix:///run/x.sock', socketPath: '/run/x.sock'})
    assert.match(dockerSocketPath({DOCKER_HOST: 'tcp://1.2.3.4:2375'}).reason!, /not a unix socket/)
  })

  test('volumes of containers that are not exited or dead count as in use, matched by name', async () => {
    const {host, requests} = await serve(200, [
      {Id: 'a', State: 'running', Mounts: [{Type: 'volume', Name: 'v1', Driver: 'docker-on-top'}, {Type: 'bind', Source: '/x'}]},
      {Id: 'b', State: 'paused', Mounts: [{Type: 'volume', Name: 'v2', Driver: 'dot-test-123'}]},
      {Id: 'c', State: 'created', Mounts: [{Type: 'volume', Name: 'v3', Driver: 'local'}]},
      {Id: 'd', State: 'exited', Mounts: [{Type: 'volume', Name: 'v4', Driver: 'docker-on-top'}]},
      {Id: 'e', State: 'dead', Mounts: [{Type: 'volume', Name: 'v5', Driver: 'docker-on-top'}]},
      {Id: 'f', State: 'restarting'},
    ])
    const usage = await dockerVolumesInUse({DOCKER_HOST: host})
    assert.ok(usage.reachable)
    assert.deepEqual([...usage.volumes].sort(), ['v1', 'v2', 'v3'])
    assert.equal(usage.containers, 6)
    assert.deepEqual(requests, ['GET /containers/json?all=1'])
  })

  test('unreachable or unexpected answers say why, and never throw', async () => {
    const missing = await dockerVolumesInUse({DOCKER_HOST: `unix://${dir}/none.sock`})
    assert.deepEqual(missing, {reachable: false, host: `unix://${dir}/none.sock`, reason: `no Docker socket at ${dir}/none.sock`})
    const notSocket = path.join(dir, 'file.sock')
    fs.writeFileSync(notSocket, '')
    assert.equal((await dockerVolumesInUse({DOCKER_HOST: `unix://${notSocket}`})).reachable, false)
    const failing = await serve(500, {message: 'daemon is shutting down'})
    const error = await dockerVolumesInUse({DOCKER_HOST: failing.host})
    assert.ok(!error.reachable)
    assert.match(error.reason, /HTTP 500: .*shutting down/)
    const odd = await serve(200, {not: 'a list'})
    const oddUsage = await dockerVolumesInUse({DOCKER_HOST: odd.host})
    assert.ok(!oddUsage.reachable)
    assert.match(oddUsage.reason, /not a list of containers/)
  })
})
