import {Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {colourEnabled} from '../cli/colour.js'
import {DOCTOR_FAILED_EXIT, renderDoctor} from '../cli/doctor-report.js'
import {doctor, type DoctorReport} from '../core/doctor/doctor.js'
import {defaultSocketPath} from '../plugin/socket-file.js'

export default class Doctor extends DotCommand<typeof Doctor> {
  static override summary = 'Check that this machine can run docker-on-top, and say how to fix what is wrong'
  static override description = [
    'One line per check, with a fix for each problem: overlayfs and its redirect_dir/index/metacopy',
    "defaults; root privileges; the root's file system (type, trusted.* xattrs, flock, a real overlay with",
    'its upper layer there, free space and inodes); the plugin socket answering /Plugin.Activate; dockerd',
    'and Podman listing the driver; the service installed, enabled and running; what dot gc --dry-run',
    'finds; volumes whose base is gone; AppArmor and SELinux. Changes nothing (a scratch directory in the',
    'root comes and goes).',
    `\n\nExit codes: 0 no check failed (warnings included), ${DOCTOR_FAILED_EXIT} at least one failed.`,
  ].join(' ')
  static override examples = ['sudo <%= config.bin %> doctor', '<%= config.bin %> doctor --json | jq \'.checks[] | select(.status == "fail")\'']
  static override flags = {
    name: Flags.string({description: 'volume driver name the plugin runs under', default: 'docker-on-top', helpValue: 'NAME'}),
    socket: Flags.string({description: 'the plugin socket [default: /run/docker/plugins/<NAME>.sock]', env: 'DOT_SOCKET', helpValue: 'PATH'}),
  }

  async run(): Promise<DoctorReport> {
    const {name, root} = this.flags
    const report = await doctor({root, name, socket: this.flags.socket ?? defaultSocketPath(name)})
    this.print(renderDoctor(report, {colour: colourEnabled(process.stdout)}))
    if (!report.ok) process.exitCode = DOCTOR_FAILED_EXIT
    return report
  }
}
