import {VolumeStore} from '../volume/store.js'
import {defaultMounter} from '../kernel/default-mounter.js'
import {type Check, type CheckStatus, guarded} from './check.js'
import {type KernelPaths, overlayCheck, overlayFeatureChecks, securityChecks} from './kernel-checks.js'
import {rootChecks, running} from './root-checks.js'
import {dockerCheck, podmanCheck, serviceCheck, socketCheck} from './service-checks.js'
import {missingBasesCheck, staleStateCheck} from './store-checks.js'

export interface DoctorOptions {
  root: string
  /** The driver name (`dot serve --name`) and its socket. */
  name: string
  socket: string
  unit?: string
  pidfile?: string
  env?: NodeJS.ProcessEnv
  paths?: KernelPaths
}

export interface DoctorReport {
  checks: Check[]
  /** True when no check failed (warnings do not count). */
  ok: boolean
  counts: Record<CheckStatus, number>
}

/**
 * `dot doctor`: every check, in the order a new user meets the problems (kernel, privileges, root,
 * plugin, daemons, service, the volumes themselves). Changes nothing but a scratch directory in the
 * root, deleted before it returns. Each check is guarded: one that throws is a failed check.
 */
export async function doctor(options: DoctorOptions): Promise<DoctorReport> {
  const paths = options.paths ?? {proc: '/proc', sys: '/sys'}
  const env = options.env ?? process.env
  const store = await VolumeStore.open({root: options.root})
  const canMount = process.geteuid?.() === 0
  const checks: Check[] = [
    ...(await guarded('overlay', () => overlayCheck(paths))),
    ...(await guarded('overlay-features', () => overlayFeatureChecks(paths))),
    running(),
    ...(canMount ? await guarded('root', () => rootChecks(store.root, () => defaultMounter())) : []),
    ...(await guarded('socket', () => socketCheck(options.socket))),
    ...(await guarded('docker', () => dockerCheck(options.name, env))),
    ...(await guarded('podman', () => podmanCheck(options.name, options.socket))),
    ...(await guarded('service', () => serviceCheck(options.unit ?? 'docker-on-top.service', options.pidfile ?? '/run/docker-on-top.pid'))),
    ...(await guarded('stale-state', () => staleStateCheck(store, env))),
    ...(await guarded('bases', () => missingBasesCheck(store))),
    ...(await guarded('security-modules', () => securityChecks(paths))),
  ]
  await store.close()
  const counts: Record<CheckStatus, number> = {ok: 0, warn: 0, fail: 0, info: 0, skip: 0}
  for (const c of checks) counts[c.status]++
  return {checks, ok: counts.fail === 0, counts}
}
