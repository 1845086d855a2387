import {after, before, describe} from 'node:test'

import {assertDocker, dockerOnly} from '../helpers/requirements.js'
import {E2E} from './harness/e2e.js'
import {pluginFailures} from './scenarios/plugin-failures.js'
import {removeAfterFailedUnmount} from './scenarios/remove-after-failed-unmount.js'
import {snapshotsThroughDocker} from './scenarios/snapshots.js'
import {containersOnAVolume} from './scenarios/volume-data.js'
import {sizeLimits} from './scenarios/size-limit.js'
import {volumeLifecycle} from './scenarios/volume-lifecycle.js'

/**
 * The end-to-end suite: a real dockerd (DOT_TEST_DOCKER_HOST; .ci/run starts a hermetic one with
 * test/e2e/dockerd.sh), the real `dot serve` under a random test driver name, the docker CLI and a
 * busybox image imported locally.
 *
 * One file, one plugin, on purpose: dockerd keeps every legacy plugin it ever activated for its whole
 * life and asks each of them on every `docker volume ls` (and for every unknown volume name), waiting
 * ~15 s for one that is gone (docs/plugin-protocol.md §1.3, §1.4). A plugin per test file would make every later
 * file stall on the earlier files' dead drivers. For the same reason, prefer a throw-away daemon
 * (`test/e2e/dockerd.sh start`) to your own: after the run, your dockerd would still ask the test
 * driver on each `docker volume ls`, waiting ~15 s, until it restarts.
 *
 * DOT_E2E_PLUGIN_LOG=<file> keeps the plugin's debug log (every request dockerd sent) after the run.
 */
describe('e2e: docker-on-top as a dockerd volume plugin', dockerOnly(), () => {
  const e2e = new E2E()
  before(async () => {
    assertDocker()
    await e2e.setup()
  })
  // Volumes are removed before the plugin stops (see E2E.cleanup).
  after(() => e2e.cleanup())

  describe('docker volume create, inspect, ls, rm', () => volumeLifecycle(e2e))
  describe('containers on a volume', () => containersOnAVolume(e2e))
  describe('docker volume rm after a failed unmount', () => removeAfterFailedUnmount(e2e))
  describe('snapshots of a volume containers use', () => snapshotsThroughDocker(e2e))
  describe('size limits and tmpfs', () => sizeLimits(e2e))
  // Last: it kills the plugin.
  describe('plugin crash and a vanished base', () => pluginFailures(e2e))
})
