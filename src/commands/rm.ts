import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {forEachTarget, settleTargets, targetNames} from '../cli/multi-target.js'

export default class Rm extends DotCommand<typeof Rm> {
  static override summary = 'Remove volumes and their changes'
  static override description =
    'Deletes each volume\'s upper layer (its changes); the base directory is untouched. A volume in use is refused unless --force, which unmounts it first (lazily if busy). Every name is processed; the exit code is the most severe among the failures.'
  static override hiddenAliases = ['remove']
  static override examples = ['<%= config.bin %> rm data', '<%= config.bin %> rm --force scratch other', '<%= config.bin %> rm $(<%= config.bin %> ls -q)']
  static override strict = false
  static override args = {name: Args.string({description: 'volume name(s)', required: true})}
  static override flags = {
    force: Flags.boolean({char: 'f', description: 'remove even while mounted: unmount every user first', default: false}),
  }

  async run() {
    const store = await this.openStore()
    const results = await forEachTarget(targetNames(this.positionals), async (name) => {
      await store.remove(name, {force: this.flags.force})
      this.print(name)
      return name
    })
    return {removed: results.done, ...settleTargets(results, (message) => this.warnLine(message))}
  }
}
