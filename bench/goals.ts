/**
 * The Go original (kolayne/docker-on-top v0.1.2), measured on a machine of this kind with the same
 * protocol-level method; p50 in ms (issue 5). Rows are matched by these keys.
 */
export const GO_ORIGINAL: Record<string, number> = {
  'protocol.noop': 0.21,
  'protocol.create': 0.36,
  'protocol.get': 0.19,
  'protocol.mount-first': 0.55,
  'protocol.mount-second': 0.35,
  'protocol.unmount-nonlast': 0.31,
  'protocol.unmount-last': 1.5,
  'protocol.remove': 0.77,
  'scale.list-1000': 1.2,
  'scale.list-10000': 11.6,
  'scale.startup-10000': 117,
  'concurrency.mount-32': 22.6,
  'concurrency.unmount-32': 15.8,
  'floor.mount2': 0.24,
  'floor.umount2': 0.24,
}

/** Start-up of `dot serve` with 10,000 volumes may take up to this multiple of the Go original's. */
export const STARTUP_ALLOWANCE = 2
/** Mount and Unmount rows must be within this many ms of their floor (no-op round trip + syscalls). */
export const FLOOR_MARGIN_MS = 0.3
/** `dot ls -q` with 10,000 volumes may cost at most this multiple of a minimal oclif command. */
export const LS_ALLOWANCE = 1.3
