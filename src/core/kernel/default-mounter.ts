import type {Mounter} from './mounter.js'

/**
 * The in-process syscall mounter when koffi loads, else mount(8). `DOT_MOUNTER=exec|syscall` forces one.
 * Loaded lazily: commands that never mount (ls, inspect) do not pay for the FFI.
 */
export async function defaultMounter(preference = process.env.DOT_MOUNTER): Promise<Mounter> {
  if (preference !== 'exec') {
    try {
      const {SyscallMounter} = await import('./syscall-mounter.js')
      return new SyscallMounter()
    } catch (err) {
      if (preference === 'syscall') throw err
    }
  }
  const {ExecMounter} = await import('./exec-mounter.js')
  return new ExecMounter()
}
