import path from 'node:path'

import {invalid} from '../errors.js'

/**
 * Where this process opens a volume's base. A base is always a host path: the one given in
 * `-o base=`, stored in the metadata and read by the CLI on the host. Inside the managed Docker plugin
 * the host's directories are not at their own paths but below a bind mount: DOT_HOST_MOUNT (`/host`)
 * shows the host directory DOT_HOST_DIR (default `/`). Outside the plugin (neither set) a base is
 * opened where it is.
 */
export function reachableBase(base: string, env: NodeJS.ProcessEnv = process.env): string {
  const mount = env.DOT_HOST_MOUNT
  if (!mount) return base
  const hostDir = path.resolve(env.DOT_HOST_DIR || '/')
  const rel = path.relative(hostDir, path.resolve(base))
  if (rel === '..' || rel.startsWith('../') || path.isAbsolute(rel)) {
    throw invalid(
      `base ${JSON.stringify(base)} is outside ${hostDir}, the only host directory this plugin sees; ` +
        `choose a base below it, or widen it: docker plugin set <plugin> bases.source=DIR DOT_HOST_DIR=DIR (plugin disabled)`,
      {base, hostDir},
    )
  }
  return path.join(mount, rel)
}
