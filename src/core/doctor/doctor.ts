import {VolumeStore} from '../volume/store.js'
import {defaultMounter} from '../kernel/default-mounter.js'
import {type Check, type CheckStatus, check, guarded} from './check.js'
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
  // A root that cannot be opened (a file, say) is the root check's failure, not the end of the report.
  const opened = await VolumeStore.open({root: options.root}).then(
    (store) => ({store}),
    (err: Error) => ({store: undefined, err}),
  )
  const {store} = opened
  const canMount = process.geteuid?.() === 0
  const unopened = (id: string): Check[] => [check(id, 'skip', 'the root could not be opened')]
  const rootCheck = (): Promise<Check | Check[]> =>
    store ? rootChecks(store.root, () => defaultMounter()) : Promise.resolve(check('root', 'fail', ('err' in opened && opened.err?.message) || 'the root could not be opened', 'point --root (DOT_ROOT) at a directory; the default is /var/lib/docker-on-top'))
  const checks: Check[] = [
    ...(await guarded('overlay', () => overlayCheck(paths))),
    ...(await guarded('overlay-features', () => overlayFeatureChecks(paths))),
    running(),
    ...(canMount ? await guarded('root', rootCheck) : []),
    ...(await guarded('socket', () => socketCheck(options.socket))),
    ...(await guarded('docker', () => dockerCheck(options.name, env))),
    ...(await guarded('podman', () => podmanCheck(options.name, options.socket))),
    ...(await guarded('service', () => serviceCheck(options.unit ?? 'docker-on-top.service', options.pidfile ?? '/run/docker-on-top.pid'))),
    ...(store ? await guarded('stale-state', () => staleStateCheck(store, env)) : unopened('stale-state')),
    ...(store ? await guarded('bases', () => missingBasesCheck(store)) : unopened('bases')),
    ...(await guarded('security-modules', () => securityChecks(paths))),
  ]
  await store?.close()
  const counts: Record<CheckStatus, number> = {ok: 0, warn: 0, fail: 0, info: 0, skip: 0}
  for (const c of checks) counts[c.status]++
  return {checks, ok: counts.fail === 0, counts}
}
