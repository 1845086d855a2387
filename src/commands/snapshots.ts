import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {formatCreated} from '../cli/volume-table.js'
import {formatBytes} from '../cli/human-size.js'
import {listSnapshots} from '../core/snapshot/list.js'

export default class Snapshots extends DotCommand<typeof Snapshots> {
  static override summary = "List a volume's snapshots, oldest first"
  static override description =
    'Columns: TAG, CREATED (UTC), SIZE (disk space of the layer: what changed between the snapshot before it and this one). -q prints the tags only, one a line. --json: [{"tag", "createdAt", "bytes"}].'
  static override examples = ['<%= config.bin %> snapshots data', '<%= config.bin %> snapshots data -q', '<%= config.bin %> snapshots data --json']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    quiet: Flags.boolean({char: 'q', description: 'print only the tags, one a line', default: false}),
  }

  async run() {
    const store = await this.openStore()
    const snapshots = await listSnapshots(store.layout, this.args.name)
    if (this.flags.quiet) {
      if (snapshots.length > 0) this.print(snapshots.map((s) => s.tag).join('\n'))
      return snapshots
    }
    if (!this.jsonEnabled()) {
      const {borderlessTable} = await import('../cli/plain-table.js')
      const Table = await borderlessTable()
      const table = new Table(['TAG', 'CREATED', 'SIZE'])
      for (const s of snapshots) table.push([s.tag, formatCreated(s.createdAt), formatBytes(s.bytes)])
      this.print(table.render())
    }
    return snapshots
  }
}
