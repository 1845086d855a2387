import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {rollbackVolume} from '../core/snapshot/rollback.js'

export default class Rollback extends DotCommand<typeof Rollback> {
  static override summary = 'Drop every change made after a snapshot'
  static override description = [
    'The snapshots taken after TAG and the changes since the newest one are deleted; the volume shows',
    'exactly what it showed when TAG was taken, and TAG stays (roll back to it again later). A volume in',
    'use is refused (exit 5), an unknown tag is exit 3. --backup FILE first writes what is dropped as one',
    'OCI layer (`dot import NAME --from FILE` brings it back). --json: {"volume", "tag", "dropped", "backup"?}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> rollback data before-upgrade', '<%= config.bin %> rollback data before-upgrade --backup /backup/dropped.tar']
  static override args = {
    name: Args.string({description: 'volume name', required: true}),
    tag: Args.string({description: 'the snapshot to go back to', required: true}),
  }
  static override flags = {
    backup: Flags.string({description: 'first write what is dropped as a layer into this new file', helpValue: 'FILE'}),
  }

  async run() {
    const store = await this.openStore()
    const result = await rollbackVolume(store, this.args.name, this.args.tag, {backup: this.flags.backup})
    const dropped = result.dropped.length > 0 ? ` and snapshot${result.dropped.length === 1 ? '' : 's'} ${result.dropped.join(', ')}` : ''
    this.print(`volume "${result.volume}" rolled back to snapshot "${result.tag}": dropped the changes since${dropped}${result.backup ? ` (saved in ${result.backup})` : ''}`)
    return result
  }
}
