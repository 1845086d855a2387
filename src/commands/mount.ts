import {Args} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {mountIdFlag} from '../cli/mount-id.js'

export default class Mount extends DotCommand<typeof Mount> {
  static override summary = 'Mount a volume by hand and print its mountpoint'
  static override description =
    'All users of a volume share one overlay; each mount ID is counted, so every `dot mount` needs a matching `dot unmount` with the same ID. The overlay stays mounted after this command exits. Safe to run while `dot serve` mounts the same volume for containers.'
  static override examples = [
    '<%= config.bin %> mount data',
    {description: 'Work in the merged view, then let it go', command: 'cd "$(<%= config.bin %> mount data)" && ... && cd / && <%= config.bin %> unmount data'},
    '<%= config.bin %> mount data --id backup-job',
  ]
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {id: mountIdFlag}

  async run() {
    const store = await this.openStore()
    const mountpoint = await store.mount(this.args.name, this.flags.id)
    this.print(mountpoint)
    return {name: this.args.name, id: this.flags.id, mountpoint}
  }
}
