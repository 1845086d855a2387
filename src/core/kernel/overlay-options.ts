import {MOUNT_SOURCE_PREFIX} from '../disk/layout.js'

/** A mount as data, computed by a pure function; performing it is the mounter's job (containerd style). */
export interface OverlayMount {
  source: string
  target: string
  /** tmpfs for the changes of a `tmpfs=true` volume (kernel/limit-fs.ts), overlay otherwise. */
  fstype: 'overlay' | 'tmpfs'
  /** mount(2)'s and mount(8)'s option string. */
  data: string
  /**
   * The same overlay's layers one by one, for the new mount API (fs-context-mount.ts), which the mount
   * table then shows by their real paths. Absent: the overlay is mounted from `data` only.
   */
  layers?: OverlayLayers
}

export interface OverlayLayers {
  /** Topmost first. `fd`: the layer as an open directory, mounted as it is instead of looked up again. */
  lowers: {path: string; fd?: number}[]
  upper: string
  workdir: string
}

/** A base opened and checked (volume/base-check.ts): its real path, and the open directory as a path mount(2) takes. */
export interface OpenedLower {
  real: string
  lowerdir: string
  fd: number
}

/**
 * Escapes a path for overlayfs's monolithic option string. overlayfs splits options at "," and lower
 * layers at ":" unless preceded by "\", and unescapes "\x" to "x" in each path (fs/overlayfs/params.c:
 * ovl_next_opt, ovl_parse_param_split_lowerdirs, ovl_unescape). So "\", "," and ":" get a backslash.
 * The Go original refuses such paths instead.
 */
export function escapeOverlayPath(p: string): string {
  return p.replace(/[\\,:]/g, (c) => `\\${c}`)
}

/**
 * The one overlay of a volume: lower = its snapshot layers (newest first, if any) over the base (read
 * only), upper = the volume's changes. Without snapshots exactly the Go original's options. An opened
 * base is its open directory in both forms: `lowerdir=/proc/<pid>/fd/<n>` in `data`, the fd in `layers`.
 */
export function overlayMount(name: string, paths: {base: string | OpenedLower; layers?: string[]; upper: string; workdir: string; mountpoint: string}): OverlayMount {
  const base = typeof paths.base === 'string' ? {path: paths.base} : {path: paths.base.real, fd: paths.base.fd}
  const layers = {lowers: [...(paths.layers ?? []).map((p) => ({path: p})), base], upper: paths.upper, workdir: paths.workdir}
  const data = [
    `lowerdir=${[...(paths.layers ?? []), typeof paths.base === 'string' ? paths.base : paths.base.lowerdir].map(escapeOverlayPath).join(':')}`,
    `upperdir=${escapeOverlayPath(paths.upper)}`,
    `workdir=${escapeOverlayPath(paths.workdir)}`,
  ].join(',')
  return {source: `${MOUNT_SOURCE_PREFIX}${name}`, target: paths.mountpoint, fstype: 'overlay', data, layers}
}

/** A read-only overlay of several lower layers (topmost first) with no upper: used by recover and diff. */
export function readOnlyOverlayMount(source: string, lowers: string[], target: string): OverlayMount {
  return {source, target, fstype: 'overlay', data: `lowerdir=${lowers.map(escapeOverlayPath).join(':')}`}
}
