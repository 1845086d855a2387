import {randomBytes} from 'node:crypto'
import fs from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {Layout, MOUNT_SOURCE_PREFIX} from '../../../src/core/disk/layout.js'
import {type MountEntry, parseMountinfo} from '../../../src/core/kernel/mountinfo.js'
import {TempRoot} from '../../helpers/temp-root.js'
import {type CommandResult, docker, dockerOk, ensureTestImage, hungCommand, removeTestImage, TEST_IMAGE} from './docker.js'
import {DotServe} from './dot-serve.js'

/** dockerd discovers legacy plugins here, whatever its exec root (docs/plugin-protocol.md §1.1). */
export const PLUGIN_DIR = '/run/docker/plugins'

export interface RunOptions {
  /** `docker run -d --name <name>` instead of `--rm` in the foreground. */
  detach?: boolean
  name?: string
  /** Where the volume appears in the container. */
  target?: string
}

/**
 * One e2e test file's world: a `dot serve` under a random driver name (`dot-test-<hex>`) with its own
 * temp root and socket, and the containers and volumes made through the real docker CLI. Everything is
 * labelled or prefixed with the driver name, so `cleanup()` finds it all, even after a failed test.
 */
export class E2E {
  readonly tmp = new TempRoot('dot-test-e2e-')
  readonly driver = `dot-test-${randomBytes(4).toString('hex')}`
  readonly socket = `${PLUGIN_DIR}/${this.driver}.sock`
  readonly plugin: DotServe
  readonly layout: Layout
  /** Volumes created through docker; removed by name in `cleanup` (a `docker volume ls` would ask every driver). */
  private readonly volumes = new Set<string>()
  /** Whether setup got as far as starting the plugin: before that, there is nothing in docker to clean. */
  private started = false

  constructor() {
    this.plugin = new DotServe(this.driver, this.tmp.root, this.socket)
    this.layout = new Layout(this.tmp.root)
  }

  async setup(): Promise<void> {
    fs.mkdirSync(PLUGIN_DIR, {recursive: true})
    await ensureTestImage()
    this.started = true
    await this.plugin.start()
  }

  /** A volume or container name unique to this run. */
  name(label: string): string {
    return `${this.driver}-${label}`
  }

  /** `docker volume create --driver <test driver> <name> -o k=v ...`; throws with docker's message on failure. */
  async createVolume(label: string, options: Record<string, string>): Promise<string> {
    const name = this.name(label)
    // dockerd answers a create of an existing name with success and keeps the old options (docs/plugin-protocol.md §3.1).
    if (this.volumes.has(name)) throw new Error(`test bug: volume label ${JSON.stringify(label)} used twice`)
    const result = await this.tryCreateVolume(name, options)
    if (result.code !== 0) throw new Error(`docker volume create ${name} failed:\n${result.stderr}`)
    return name
  }

  async tryCreateVolume(name: string, options: Record<string, string> | string[]): Promise<CommandResult> {
    const opts = Array.isArray(options) ? options : Object.entries(options).map(([k, v]) => `${k}=${v}`)
    const result = await docker(['volume', 'create', '--driver', this.driver, ...opts.flatMap((o) => ['-o', o]), name])
    if (result.code === 0) this.volumes.add(name)
    return result
  }

  /**
   * Marks a volume a test removed itself, so `cleanup` does not ask for it again: dockerd probes every
   * plugin it ever activated for an unknown name, ~15 s for each that is gone.
   */
  forget(name: string): void {
    this.volumes.delete(name)
  }

  runArgs(volume: string, script: string, options: RunOptions = {}): string[] {
    return [
      'run',
      '--network',
      'none',
      '--label',
      `dot-test=${this.driver}`,
      ...(options.detach ? ['-d'] : ['--rm']),
      ...(options.name ? ['--name', options.name] : []),
      '-v',
      `${volume}:${options.target ?? '/data'}`,
      TEST_IMAGE,
      'sh',
      '-c',
      script,
    ]
  }

  /** `docker run` a shell script with the volume at /data; never throws for a failing container. */
  run(volume: string, script: string, options: RunOptions = {}): Promise<CommandResult> {
    return docker(this.runArgs(volume, script, options))
  }

  /** As `run`, but throws unless it exited 0; returns stdout. */
  runOk(volume: string, script: string, options: RunOptions = {}): Promise<string> {
    return dockerOk(this.runArgs(volume, script, options))
  }

  /** Starts a long-running container on the volume (stopped by `docker rm -f` or cleanup). */
  async startContainer(volume: string, label: string, script = 'exec sleep 600'): Promise<string> {
    const name = this.name(label)
    await this.runOk(volume, script, {detach: true, name})
    return name
  }

  exec(container: string, script: string): Promise<string> {
    return dockerOk(['exec', container, 'sh', '-c', script])
  }

  /**
   * The volume's overlays as this (the host's) mount namespace sees them: at its mountpoint, or anywhere
   * with its source name (`docker-on-top_<name>`), so a second, stray overlay would be counted too.
   */
  overlays(volume: string): MountEntry[] {
    const mountpoint = this.layout.mountpoint(volume)
    return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter(
      (e) => e.fstype === 'overlay' && (e.mountpoint === mountpoint || e.source === MOUNT_SOURCE_PREFIX + volume),
    )
  }

  /** The volume's mount records (`activemounts/<id>`): empty means nobody uses it. */
  records(volume: string): string[] {
    try {
      return fs.readdirSync(this.layout.activeMounts(volume))
    } catch {
      return []
    }
  }

  /** `docker volume inspect`, parsed. */
  async inspect(volume: string): Promise<Record<string, unknown>> {
    const [info] = JSON.parse(await dockerOk(['volume', 'inspect', volume])) as Record<string, unknown>[]
    return info
  }

  /** Polls until `check` returns true: dockerd unmounts a stopped container's volumes asynchronously. */
  async waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      await sleep(100)
    }
  }

  /**
   * Wraps a test body so a failure carries the tail of the plugin's log, and fails at once when the
   * plugin died or a docker command hung earlier (every docker call would then wait 15 s to minutes).
   */
  withLog(body: () => Promise<void>): () => Promise<void> {
    return async () => {
      if (!this.plugin.running) throw new Error(`dot serve is not running any more:\n${this.plugin.logTail()}`)
      if (hungCommand) throw new Error(`not run: an earlier docker command hung (${hungCommand})`)
      try {
        await body()
      } catch (err) {
        if (err instanceof Error) err.message += `\n--- dot serve log (tail) ---\n${this.plugin.logTail()}`
        throw err
      }
    }
  }

  /**
   * Removes this run's containers, then its volumes and the test image if it imported it, and only
   * then stops the plugin: a dockerd that remembers volumes of a dead driver stalls ~15 s per volume
   * (docs/plugin-protocol.md §1.4, §4.5). Then the socket; finally unmounts what is left below the temp dir.
   */
  async cleanup(): Promise<void> {
    const problems: string[] = []
    const note = (what: string) => (err: unknown) => problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`)
    if (!this.started) {
      this.tmp.cleanup()
      return
    }
    try {
      const ids = (await dockerOk(['ps', '-aq', '--filter', `label=dot-test=${this.driver}`])).split('\n').filter(Boolean)
      if (ids.length > 0) await dockerOk(['rm', '-f', ...ids]).catch(note('removing containers'))
    } catch (err) {
      note('listing containers')(err)
    }
    if (!this.plugin.running) await this.plugin.start().catch(note('restarting dot serve for the cleanup'))
    if (this.plugin.running) {
      // `-f`: no error for a volume a test already removed.
      for (const volume of this.volumes) await dockerOk(['volume', 'rm', '-f', volume]).catch(note(`removing volume ${volume}`))
    }
    await removeTestImage().catch(note('removing the test image'))
    await this.plugin.stop().catch(note('stopping dot serve'))
    // For a look at what dockerd sent, even when everything passed.
    if (process.env.DOT_E2E_PLUGIN_LOG) fs.writeFileSync(process.env.DOT_E2E_PLUGIN_LOG, this.plugin.log)
    fs.rmSync(this.socket, {force: true})
    this.tmp.cleanup()
    if (problems.length > 0) {
      throw new Error(`e2e cleanup of ${this.driver}:\n${problems.join('\n')}\n--- dot serve log (tail) ---\n${this.plugin.logTail()}`)
    }
  }
}
