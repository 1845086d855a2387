import {Args} from '@oclif/core'

import {DotCommand} from '../../cli/base-command.js'
import {removeSnapshot} from '../../core/snapshot/remove.js'

export default class SnapshotRm extends DotCommand<typeof SnapshotRm> {
  static override summary = 'Remove a snapshot, keeping the view'
  static override description = [
    'The layer of TAG is merged into the one above it (the next snapshot, or the changes since the newest),',
    'so the volume shows exactly what it showed; only the point to roll back to is gone. Whiteouts, opaque',
    'and renamed directories and hard links are merged as overlayfs reads them. Refused while the volume is',
    'in use (exit 5). Runs as root. --json: {"volume", "tag", "mergedInto", "snapshots"}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> snapshot rm data before-upgrade']
  static override args = {
    name: Args.string({description: 'volume name', required: true}),
    tag: Args.string({description: 'the snapshot to remove', required: true}),
  }

  async run() {
    const store = await this.openStore()
    const result = await removeSnapshot(store, this.args.name, this.args.tag)
    this.print(`volume "${result.volume}": snapshot "${result.tag}" removed (merged into ${result.mergedInto === 'upper' ? 'the changes since' : `snapshot "${result.mergedInto}"`}; ${result.snapshots} left)`)
    return result
  }
}
