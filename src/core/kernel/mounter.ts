import type {OverlayMount} from './overlay-options.js'

/**
 * The only code that asks the kernel to mount or unmount. Failures are Errors whose `code` is the
 * errno name (EBUSY, EINVAL, ...), like Node's own system errors, so callers branch on it.
 */
export interface Mounter {
  mount(mount: OverlayMount): Promise<void>
  /** `detach` is MNT_DETACH (a lazy unmount): the mount leaves the tree now, the kernel frees it when unused. */
  unmount(target: string, options?: {detach?: boolean}): Promise<void>
}

export class MountSyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly code: string,
    readonly target: string,
    detail?: string,
  ) {
    super(`${syscall} ${target}: ${code}${detail ? ` (${detail})` : ''}`)
    this.name = 'MountSyscallError'
  }
}
