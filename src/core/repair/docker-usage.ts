import http from 'node:http'

/** Which volumes running containers use, as dockerd says; or why dockerd could not be asked. */
export type DockerUsage =
  | {reachable: true; host: string; containers: number; volumes: Set<string>}
  | {reachable: false; host: string; reason: string}

interface ContainerSummary {
  Id?: string
  State?: string
  Mounts?: {Type?: string; Name?: string; Driver?: string}[]
}

/** A container in these states holds no volume mount: dockerd unmounted it (or should have). */
const STOPPED_STATES = new Set(['exited', 'dead'])

export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): {host: string; socketPath?: string; reason?: string} {
  const host = env.DOCKER_HOST || 'unix:///var/run/docker.sock'
  if (!host.startsWith('unix://')) return {host, reason: `DOCKER_HOST ${host} is not a unix socket; only unix:// is supported`}
  return {host, socketPath: host.slice('unix://'.length)}
}

/**
 * Asks dockerd (GET /containers/json?all=1 over its unix socket, DOCKER_HOST or /var/run/docker.sock)
 * which volumes its containers use. Volumes are matched by name alone, whatever the driver: a plugin
 * may run under another name (`dot serve --name`), and a false "in use" only means gc leaves a volume
 * alone. Containers count as users unless exited or dead: a container being created or started may
 * already hold its Mount.
 */
export async function dockerVolumesInUse(env: NodeJS.ProcessEnv = process.env, timeoutMs = 5000): Promise<DockerUsage> {
  const {host, socketPath, reason} = dockerSocketPath(env)
  if (!socketPath) return {reachable: false, host, reason: reason!}
  let containers: ContainerSummary[]
  try {
    containers = JSON.parse(await get(socketPath, '/containers/json?all=1', timeoutMs)) as ContainerSummary[]
    if (!Array.isArray(containers)) throw new Error('the answer is not a list of containers')
  } catch (err) {
    return {reachable: false, host, reason: (err as Error).message}
  }
  const volumes = new Set<string>()
  for (const container of containers) {
    if (STOPPED_STATES.has(container.State ?? '')) continue
    for (const mount of container.Mounts ?? []) {
      if (mount.Type === 'volume' && mount.Name) volumes.add(mount.Name)
    }
  }
  return {reachable: true, host, containers: containers.length, volumes}
}

function get(socketPath: string, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({socketPath, path, headers: {Host: 'docker'}, timeout: timeoutMs}, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => {
        if (response.statusCode === 200) resolve(body)
        else reject(new Error(`GET ${path}: HTTP ${response.statusCode}: ${body.trim().slice(0, 200)}`))
      })
      response.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)))
    request.on('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new Error(`no Docker socket at ${socketPath}`) : err.code === 'ECONNREFUSED' ? new Error(`nothing listens on ${socketPath}`) : err)
    })
  })
}
