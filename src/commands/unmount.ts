import {Args} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {mountIdFlag} from '../cli/mount-id.js'

export default class Unmount extends DotCommand<typeof Unmount> {
  static override summary = 'Drop one use of a volume mounted by hand'
  static override description =
    'Decrements the count of the mount ID; the overlay is unmounted when the last use of the last ID goes. An ID that is not mounted is not an error (nothing changes; a note goes to stderr), so scripts can retry.'
  static override hiddenAliases = ['umount']
  static override examples = ['<%= config.bin %> unmount data', '<%= config.bin %> unmount data --id backup-job']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {id: mountIdFlag}

  async run() {
    const store = await this.openStore()
    const {name} = this.args
    const {id} = this.flags
    const {wasMounted, mounted, mounts} = await store.unmount(name, id)
    if (!wasMounted) this.warnLine(`volume "${name}" was not mounted under ID "${id}"; nothing to do`)
    this.print(name)
    return {name, id, wasMounted, state: mounted ? 'mounted' : 'idle', mounts}
  }
}
