import {execa} from 'execa'
import fs from 'node:fs'
import path from 'node:path'

import {REPO} from '../../helpers/run-dot.js'
import {type CommandResult, TEST_IMAGE} from './docker.js'

/**
 * Rootful Podman kept to a temp directory: its own containers.conf (CONTAINERS_CONF, so the machine's
 * is never read), naming the test's volume plugin in `[engine.volume_plugins]`, and its own storage
 * and run root (global flags), so its containers, volumes and database are the test's alone.
 */
export class Podman {
  readonly conf: string
  readonly globalArgs: string[]
  /**
   * runc cannot raise a limit above the hard limit conmon runs under, and rootful podman asks for
   * nofile 1048576 and nproc 4194304 by default. Where the machine allows less (this VM: nofile
   * 20000; conmon ran with nproc 32768), every container start fails with "error setting rlimit type
   * 7 (or 6): operation not permitted"; so the containers get lower limits. A normal host (hard limits
   * at the kernel's defaults) needs no such flags.
   */
  readonly runArgs: string[]

  constructor(
    readonly dir: string,
    driver: string,
    socket: string,
  ) {
    fs.mkdirSync(dir, {recursive: true})
    this.conf = path.join(dir, 'containers.conf')
    fs.writeFileSync(
      this.conf,
      [
        '[engine]',
        // No systemd or journald needed: cgroups and events by hand.
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${path.join(dir, 'events.log')}"`,
        '',
        '[engine.volume_plugins]',
        `${driver} = "${socket}"`,
        '',
      ].join('\n'),
    )
    this.globalArgs = ['--root', path.join(dir, 'storage'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs', '--tmpdir', path.join(dir, 'tmp')]
    this.runArgs = ['--network', 'none', ...hardLimitFlags()]
  }

  async importTestImage(): Promise<void> {
    const result = await execa('bash', [path.join(REPO, 'test', 'e2e', 'test-image.sh')], {
      env: {...this.env(), DOT_TEST_ENGINE: ['podman', ...this.globalArgs].join(' '), DOT_TEST_IMAGE: TEST_IMAGE},
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    })
    if (result.exitCode !== 0) throw new Error(`importing the test image into podman failed:\n${result.stderr}${result.stdout}`)
  }

  async podman(args: string[], timeoutMs = 60_000): Promise<CommandResult> {
    const result = await execa('podman', [...this.globalArgs, ...args], {env: this.env(), reject: false, stdin: 'ignore', timeout: timeoutMs})
    if (result.timedOut) throw new Error(`podman ${args.join(' ')}: timed out after ${timeoutMs} ms`)
    return {code: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr}
  }

  async podmanOk(args: string[], timeoutMs = 60_000): Promise<string> {
    const result = await this.podman(args, timeoutMs)
    if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}:\n${result.stderr || result.stdout}`)
    return result.stdout.trim()
  }

  /** Removes every container and volume this Podman has (its storage is the test's alone). */
  async cleanup(): Promise<void> {
    await this.podman(['rm', '-af', '-t', '0'])
    await this.podman(['volume', 'rm', '-af'])
  }

  private env(): NodeJS.ProcessEnv {
    return {PATH: process.env.PATH, HOME: this.dir, CONTAINERS_CONF: this.conf, XDG_RUNTIME_DIR: path.join(this.dir, 'xdg')}
  }
}

/**
 * `--ulimit` flags: nofile at this process's hard limit, nproc at most 32768 (conmon lowers its own
 * to that here, below this process's hard limit).
 */
function hardLimitFlags(): string[] {
  const limits = fs.readFileSync('/proc/self/limits', 'utf8')
  const hard = (label: string) => Number(new RegExp(`^${label}\\s+\\S+\\s+(\\d+)`, 'm').exec(limits)?.[1] ?? Number.POSITIVE_INFINITY)
  const nofile = Math.min(hard('Max open files'), 1_048_576)
  const nproc = Math.min(hard('Max processes'), 32_768)
  return ['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`]
}
