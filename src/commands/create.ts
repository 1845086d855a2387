import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {VolumeStore} from '../core/store.js'

export default class Create extends DotCommand<typeof Create> {
  static override summary = 'Create a copy-on-write volume on top of a host directory'
  static override examples = ['<%= config.bin %> create data --base /srv/dataset', '<%= config.bin %> create scratch --base /srv/src --volatile']
  static override args = {name: Args.string({description: 'volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)', required: true})}
  static override flags = {
    base: Flags.string({description: 'absolute path of the host directory the volume sits on (never written to)', required: true}),
    volatile: Flags.boolean({description: 'discard the changes at the next first mount after the last user leaves', default: false}),
  }

  async run() {
    const store = await VolumeStore.open({root: this.flags.root})
    const volume = await store.create(this.args.name, {base: this.flags.base, volatile: String(this.flags.volatile)})
    this.print(volume.name)
    return volume
  }
}
