import {Args} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {snapshotVolume} from '../core/snapshot/snapshot.js'

export default class Snapshot extends DotCommand<typeof Snapshot> {
  static override summary = "Freeze a volume's changes as a snapshot"
  static override description = [
    'The changes so far become a read-only layer tagged TAG (default: the UTC time, 20261202T061500Z;',
    '"-2", "-3"... when taken twice in a second), and the volume goes on with an empty upper layer on top of',
    'it. The view does not change; nothing is copied. A tag follows the volume-name rule; a tag the volume',
    'has already is refused (exit 4), and so is a volume in use (exit 5): stop its containers first.',
    '`dot rollback NAME TAG` goes back to it, `dot snapshot rm NAME TAG` removes it (keeping the view).',
    '`dot snapshot rm ...` always means removing a snapshot; a volume named "rm" is snapshotted with a flag',
    'before its name, which ends the command words: `dot snapshot --root /var/lib/docker-on-top rm [TAG]`.',
    '--json: {"volume", "tag", "createdAt", "snapshots"}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> snapshot data', '<%= config.bin %> snapshot data before-upgrade', '<%= config.bin %> snapshot rm data before-upgrade']
  static override args = {
    name: Args.string({description: 'volume name', required: true}),
    tag: Args.string({description: 'the snapshot tag (default: the UTC time)'}),
  }

  async run() {
    const store = await this.openStore()
    const result = await snapshotVolume(store, this.args.name, this.args.tag)
    this.print(`volume "${result.volume}": snapshot "${result.tag}" taken (${result.snapshots} in all)`)
    return result
  }
}
