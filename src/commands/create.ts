import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {createOptionsFromFlags} from '../cli/create-options.js'
import {reportVolume} from '../cli/volume-report.js'
import {createVolume} from '../core/changes/create-from.js'

export default class Create extends DotCommand<typeof Create> {
  static override summary = 'Create a copy-on-write volume on top of a host directory'
  static override description =
    'The base directory is never written to: changes land in the volume\'s upper layer. Options are those of `docker volume create --driver docker-on-top -o key=value`: base (required), volatile (true/false/yes/no), size (a limit on the changes: 64M, 10G; K/M/G/T are powers of 1024, a bare number is bytes; they then live on an ext4 image of that size of their own), tmpfs (true: with volatile, the changes live on a tmpfs while the volume is mounted) and from (an absolute path to a layer tar that seeds the volume, as `dot export` writes it; refused layers create nothing).'
  static override examples = [
    '<%= config.bin %> create data --base /srv/dataset',
    '<%= config.bin %> create scratch --base /srv/src --volatile',
    '<%= config.bin %> create scratch -o base=/srv/src -o volatile=yes',
    '<%= config.bin %> create builds --base /srv/src --size 10G',
    '<%= config.bin %> create tmp --base /srv/src --volatile --tmpfs --size 512M',
  ]
  static override args = {name: Args.string({description: 'volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)', required: true})}
  static override flags = {
    base: Flags.string({description: 'absolute path of the host directory the volume sits on (never written to); required, here or as -o base=DIR', helpValue: 'DIR'}),
    volatile: Flags.boolean({description: 'discard the changes at the next first mount after the last user leaves', default: false}),
    size: Flags.string({description: 'limit the changes to SIZE (K/M/G/T, powers of 1024; a bare number is bytes): they live on an ext4 image of that size of their own; needs loop devices and mkfs.ext4', helpValue: 'SIZE'}),
    tmpfs: Flags.boolean({description: 'with --volatile: keep the changes on a tmpfs (in memory) while mounted; --size bounds it', default: false}),
    from: Flags.string({description: 'seed the volume with this layer tar (as dot export writes it); root only', helpValue: 'FILE'}),
    'allow-devices': Flags.boolean({description: 'with --from: accept device nodes in the layer', default: false}),
    'allow-links-out': Flags.boolean({description: 'with --from: accept symlinks pointing out of the volume', default: false}),
    opt: Flags.string({
      char: 'o',
      description: 'a driver option, as docker volume create -o takes it (base, volatile, size, tmpfs, from); repeatable',
      helpValue: 'key=value',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run() {
    const store = await this.openStore()
    const policy = {allowDevices: this.flags['allow-devices'], allowLinksOut: this.flags['allow-links-out']}
    const volume = await createVolume(store, this.args.name, createOptionsFromFlags(this.flags), policy)
    this.print(volume.name)
    return reportVolume(store, volume)
  }
}
