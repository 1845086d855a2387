import {Args} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {forEachTarget, settleTargets, targetNames} from '../cli/multi-target.js'
import {reportVolume} from '../cli/volume-report.js'

export default class Inspect extends DotCommand<typeof Inspect> {
  static override summary = 'Show volumes in detail, as a JSON array'
  static override description =
    'Like `docker volume inspect`: one object per volume with name, base, volatile, createdAt, state, mountpoint (only while mounted), mounts (mount ID -> count), upper (the changes since the newest snapshot), snapshots (how many; dot snapshots NAME lists them) and changesBytes (snapshot layers included). Names that do not exist are reported on stderr and the exit code is 3 (2 for an invalid name); under --json a failure gives {"volumes": [...], "errors": [...], "error": {...}} instead of the bare array.'
  static override examples = ['<%= config.bin %> inspect data', '<%= config.bin %> inspect $(<%= config.bin %> ls -q)']
  static override strict = false
  static override args = {name: Args.string({description: 'volume name(s)', required: true})}

  async run() {
    const store = await this.openStore()
    const results = await forEachTarget(targetNames(this.positionals), async (name) => reportVolume(store, await store.get(name)))
    // Always JSON for humans too (docker prints the array it found, then the errors on stderr).
    this.print(JSON.stringify(results.done, null, 2))
    const settled = settleTargets(results, (message) => this.warnLine(message))
    return settled.error ? {volumes: results.done, ...settled} : results.done
  }
}
