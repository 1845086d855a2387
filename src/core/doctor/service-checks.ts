import fs from 'node:fs/promises'

import {execa} from 'execa'

import {dockerSocketPath} from '../repair/docker-usage.js'
import {type Check, check} from './check.js'
import {unixRequest} from './unix-http.js'

const TIMEOUT_MS = 5000

/** The plugin's socket exists and answers /Plugin.Activate as a volume driver. */
export async function socketCheck(socket: string): Promise<Check> {
  const stat = await fs.lstat(socket).catch(() => undefined)
  const start = 'start it: systemctl start docker-on-top (without systemd: /opt/docker-on-top/scripts/install.sh --restart)'
  if (!stat) return check('socket', 'fail', `${socket} does not exist: dot serve is not running (dockerd cannot use the driver)`, start)
  if (!stat.isSocket()) return check('socket', 'fail', `${socket} is not a socket`, `remove it, then ${start}`)
  try {
    const {body} = await unixRequest(socket, 'POST', '/Plugin.Activate', TIMEOUT_MS)
    const implemented = (JSON.parse(body) as {Implements?: string[]}).Implements ?? []
    if (implemented.includes('VolumeDriver')) return check('socket', 'ok', `${socket} answers /Plugin.Activate as a volume driver`)
    return check('socket', 'fail', `${socket} answers, but not as a volume driver: ${body.slice(0, 120)}`, 'another program holds the socket; stop it, or run dot serve under another --name')
  } catch (err) {
    return check('socket', 'fail', `${socket} does not answer /Plugin.Activate: ${(err as Error).message} (a stale socket left by a crash?)`, start)
  }
}

/** dockerd answers, and lists the driver once it has used it (it finds legacy plugins on first use). */
export async function dockerCheck(driver: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const {host, socketPath, reason} = dockerSocketPath(env)
  if (!socketPath) return check('docker', 'skip', reason!)
  if (!(await fs.lstat(socketPath).catch(() => undefined))) return check('docker', 'skip', `no Docker daemon at ${host}`)
  let info: {ServerVersion?: string; Plugins?: {Volume?: string[]}}
  try {
    const answer = await unixRequest(socketPath, 'GET', '/info', TIMEOUT_MS)
    info = JSON.parse(answer.body)
  } catch (err) {
    return check('docker', 'fail', `dockerd at ${host} does not answer: ${(err as Error).message}`, 'systemctl status docker; journalctl -u docker')
  }
  const drivers = info.Plugins?.Volume ?? []
  if (drivers.includes(driver)) return check('docker', 'ok', `dockerd ${info.ServerVersion ?? ''} at ${host} lists the volume driver "${driver}"`)
  return check('docker', 'info', `dockerd ${info.ServerVersion ?? ''} at ${host} answers; it lists "${driver}" only once it has used it (volume drivers: ${drivers.join(', ') || 'none'})`, `docker volume create --driver ${driver} NAME -o base=/some/dir`)
}

/** Podman, where installed: it uses a legacy volume plugin only once containers.conf names it. */
export async function podmanCheck(driver: string, socket: string): Promise<Check> {
  const result = await execa('podman', ['info', '--format', '{{json .Plugins.Volume}}'], {reject: false, timeout: TIMEOUT_MS, stdin: 'ignore'})
  // No exit code: it never ran (not on PATH).
  if (result.exitCode === undefined) return check('podman', 'skip', 'Podman is not installed')
  if (result.exitCode !== 0) return check('podman', 'warn', `podman info failed: ${result.stderr.split('\n')[0]}`)
  const drivers = JSON.parse(result.stdout || '[]') as string[]
  if (drivers.includes(driver)) return check('podman', 'ok', `Podman lists the volume driver "${driver}"`)
  return check('podman', 'info', `Podman does not know the volume driver "${driver}" (volume drivers: ${drivers.join(', ') || 'none'})`, `add to /etc/containers/containers.conf: [engine.volume_plugins] ${driver} = "${socket}"`)
}

/** The systemd unit: installed, enabled, running. Without systemd, the background dot serve. */
export async function serviceCheck(unit: string, pidfile: string): Promise<Check> {
  const hasSystemd = await fs.stat('/run/systemd/system').then(() => true, () => false)
  if (!hasSystemd) {
    const pid = Number((await fs.readFile(pidfile, 'utf8').catch(() => '')).trim())
    if (pid > 0 && (await fs.stat(`/proc/${pid}`).then(() => true, () => false))) return check('service', 'ok', `no systemd; dot serve runs in the background (pid ${pid}, ${pidfile})`)
    return check('service', 'info', `no systemd, and no running dot serve in ${pidfile}`, 'scripts/install.sh starts it in the background; /opt/docker-on-top/scripts/install.sh --restart restarts it')
  }
  const ask = async (verb: string) => (await execa('systemctl', [verb, unit], {reject: false, timeout: TIMEOUT_MS, stdin: 'ignore'})).stdout.trim()
  const [enabled, active] = [await ask('is-enabled'), await ask('is-active')]
  if (enabled === '' || enabled === 'not-found') return check('service', 'warn', `${unit} is not installed`, 'sudo scripts/install.sh')
  if (enabled !== 'enabled') return check('service', 'warn', `${unit} is ${enabled}: it will not start at boot, before dockerd`, `systemctl enable ${unit}`)
  if (active !== 'active') return check('service', 'fail', `${unit} is enabled but ${active}`, `systemctl start ${unit}; journalctl -u ${unit}`)
  return check('service', 'ok', `${unit} is installed, enabled and running`)
}
