import type {OverlayMount} from './overlay-options.js'
import {MountSyscallError, type Mounter} from './mounter.js'

/** The fallback where the in-process path is unavailable: mount(8)/umount(8) through execa. */
export class ExecMounter implements Mounter {
  async mount(m: OverlayMount): Promise<void> {
    await this.run('mount', ['-t', m.fstype, '-o', m.data, m.source, m.target], m.target)
  }

  async unmount(target: string, options: {detach?: boolean} = {}): Promise<void> {
    await this.run('umount', [...(options.detach ? ['-l'] : []), target], target)
  }

  private async run(command: string, args: string[], target: string): Promise<void> {
    const {execa} = await import('execa')
    const result = await execa(command, args, {reject: false, stdin: 'ignore'})
    if (result.exitCode === 0) return
    // util-linux writes several lines (the error, then a dmesg hint); an error message is one line.
    const stderr = String(result.stderr ?? '')
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .join(' ')
    throw new MountSyscallError(command, codeFromMessage(stderr), target, stderr || result.shortMessage)
  }
}

/** util-linux prints strerror text; map the ones callers act on back to errno names. */
function codeFromMessage(message: string): string {
  if (/not mounted|no mount point/i.test(message)) return 'EINVAL'
  if (/busy/i.test(message)) return 'EBUSY'
  if (/no such file|does not exist/i.test(message)) return 'ENOENT'
  if (/permission denied|must be superuser|operation not permitted/i.test(message)) return 'EPERM'
  return 'EIO'
}
