import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {forEachTarget, settleTargets, targetNames} from '../cli/multi-target.js'
import {invalid} from '../core/errors.js'
import {resetVolume} from '../core/changes/reset.js'

export default class Reset extends DotCommand<typeof Reset> {
  static override summary = "Discard volumes' changes and keep the volumes"
  static override description = [
    'Deletes what each volume changed in its base (its upper layer); the name, base and options stay, and',
    'the next mount shows the base as it is. A volume in use is refused (exit 5). --backup FILE first writes',
    'the changes as an OCI layer (one volume only), so `dot import NAME --from FILE` undoes the reset.',
    'Every name is processed; the exit code is the most severe among the failures.',
    '--json: {"reset": [{"volume", "hadChanges", "backup"?}], "errors": [...]}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> reset data', '<%= config.bin %> reset data --backup /backup/data-changes.tar']
  static override strict = false
  static override args = {name: Args.string({description: 'volume name(s)', required: true})}
  static override flags = {
    backup: Flags.string({description: 'first write the changes as a layer into this new file', helpValue: 'FILE'}),
  }

  async run() {
    const names = targetNames(this.positionals)
    if (this.flags.backup && new Set(names).size > 1) throw invalid('--backup takes one volume; reset the others separately')
    const store = await this.openStore()
    const results = await forEachTarget(names, async (name) => {
      const result = await resetVolume(store, name, {backup: this.flags.backup})
      this.print(name)
      return result
    })
    return {reset: results.done, ...settleTargets(results, (message) => this.warnLine(message))}
  }
}
