import {Args} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {diffVolume} from '../core/diff/diff-volume.js'
import type {Change} from '../core/diff/changes.js'
import {VolumeStore} from '../core/volume/store.js'

export default class Diff extends DotCommand<typeof Diff> {
  static override summary = "Show what a volume changed in its base, like docker diff"
  static override description = [
    'One line per path, sorted: A added, C changed (content or metadata), D deleted. Deleting a directory',
    'lists everything it held. A directory holding a change is listed only if it changed itself.',
    'With --json: [{"path": "/dir/file", "kind": "A"|"C"|"D"}]. Runs as root (overlayfs marks live in',
    'trusted.* xattrs). Works while the volume is mounted, as a snapshot of a moving target.',
  ].join(' ')
  static override examples = ['<%= config.bin %> diff data', '<%= config.bin %> diff data --json']
  static override args = {name: Args.string({description: 'volume name', required: true})}

  async run(): Promise<Change[]> {
    const store = await VolumeStore.open({root: this.flags.root})
    const {changes} = await diffVolume(store.context, this.args.name)
    if (changes.length > 0) this.print(changes.map((c) => `${c.kind} ${c.path}`).join('\n'))
    return changes
  }
}
