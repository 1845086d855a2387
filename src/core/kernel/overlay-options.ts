import {MOUNT_SOURCE_PREFIX} from '../disk/layout.js'

/** A mount as data, computed by a pure function; performing it is the mounter's job (containerd style). */
export interface OverlayMount {
  source: string
  target: string
  /** tmpfs for the changes of a `tmpfs=true` volume (kernel/limit-fs.ts), overlay otherwise. */
  fstype: 'overlay' | 'tmpfs'
  data: string
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
 * only), upper = the volume's changes. Without snapshots exactly the Go original's options.
 */
export function overlayMount(name: string, paths: {base: string; layers?: string[]; upper: string; workdir: string; mountpoint: string}): OverlayMount {
  const data = [
    `lowerdir=${[...(paths.layers ?? []), paths.base].map(escapeOverlayPath).join(':')}`,
    `upperdir=${escapeOverlayPath(paths.upper)}`,
    `workdir=${escapeOverlayPath(paths.workdir)}`,
  ].join(',')
  return {source: `${MOUNT_SOURCE_PREFIX}${name}`, target: paths.mountpoint, fstype: 'overlay', data}
}

/** A read-only overlay of several lower layers (topmost first) with no upper: used by recover and diff. */
export function readOnlyOverlayMount(source: string, lowers: string[], target: string): OverlayMount {
  return {source, target, fstype: 'overlay', data: `lowerdir=${lowers.map(escapeOverlayPath).join(':')}`}
}
