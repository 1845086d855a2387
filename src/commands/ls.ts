import {Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {colourEnabled} from '../cli/colour.js'
import {terminalColumns} from '../cli/fit-columns.js'
import {reportVolume} from '../cli/volume-report.js'

export default class Ls extends DotCommand<typeof Ls> {
  static override summary = 'List volumes'
  static override description =
    'Columns: NAME, BASE, VOLATILE, STATE (mounted or idle), USERS (active mount IDs, ×N when an ID is mounted N times), SNAPSHOTS (how many), CHANGES (disk space of the upper layer and the snapshot layers; with a size limit, use against it: 12 MiB/64 MiB), CREATED (UTC). VOLATILE "yes*": its changes are wiped at its next first mount. On a terminal the table fits its width: USERS shows a count and 12-character IDs, BASE and NAME are shortened in the middle; --no-trunc, a pipe and --json show every value in full. Colour only on a terminal, never with NO_COLOR.'
  static override hiddenAliases = ['list']
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls -q | xargs -r <%= config.bin %> inspect', '<%= config.bin %> ls --json']
  static override flags = {
    quiet: Flags.boolean({char: 'q', description: 'print only volume names, one a line (fast: reads no volume)', default: false}),
    'no-trunc': Flags.boolean({description: 'show every value in full, even on a narrow terminal', default: false}),
  }

  async run() {
    const store = await this.openStore()
    if (this.flags.quiet) {
      // Names only: one readdir, no metadata, no mountinfo, no table libraries.
      const names = await store.names()
      if (names.length > 0) this.print(names.join('\n'))
      return names
    }
    const volumes = await Promise.all((await store.list()).map((volume) => reportVolume(store, volume)))
    if (!this.jsonEnabled()) {
      const {renderVolumeTable} = await import('../cli/volume-table.js')
      const columns = terminalColumns(process.stdout)
      this.print(await renderVolumeTable(volumes, {colour: colourEnabled(process.stdout), noTrunc: this.flags['no-trunc'], ...(columns ? {columns} : {})}))
    }
    return volumes
  }
}
