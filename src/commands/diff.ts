import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {renderDiffStat} from '../cli/diff-stat-report.js'
import {quotePath} from '../cli/quote-path.js'
import {diffVolume} from '../core/diff/diff-volume.js'
import type {Change} from '../core/diff/changes.js'
import {type DiffStat, diffStat} from '../core/diff/diff-stat.js'
import {VolumeStore} from '../core/volume/store.js'

export default class Diff extends DotCommand<typeof Diff> {
  static override summary = "Show what a volume changed in its base, like docker diff"
  static override description = [
    'One line per path, sorted: A added, C changed (content or metadata), D deleted. Deleting a directory',
    'lists everything it held. A directory holding a change is listed only if it changed itself.',
    'With --json: [{"path": "/dir/file", "kind": "A"|"C"|"D"}]. Runs as root (overlayfs marks live in',
    'trusted.* xattrs). Works while the volume is mounted, as a snapshot of a moving target. Paths with',
    'control characters, quotes or backslashes are quoted with C escapes, as git does ("a\\nb");',
    '--json gives them raw.',
    '\n\n--stat: the counts and bytes of added, changed and deleted entries instead, with each directory',
    'renamed under redirect_dir=on shown once ("R /old -> /new") rather than as everything it held',
    'deleted and added; --json: {"added": {"entries", "bytes"}, "changed", "deleted", "renamed":',
    '[{"from", "to", "entries", "bytes"}]}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> diff data', '<%= config.bin %> diff data --json', '<%= config.bin %> diff data --stat']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    stat: Flags.boolean({description: 'counts and bytes by kind, a renamed directory once, instead of every path', default: false}),
  }

  async run(): Promise<Change[] | DiffStat> {
    const store = await VolumeStore.open({root: this.flags.root})
    const changes = await diffVolume(store.context, this.args.name)
    if (this.flags.stat) {
      const volume = await store.get(this.args.name)
      const stat = await diffStat(changes, volume.upper, volume.base)
      this.print(renderDiffStat(stat))
      return stat
    }
    if (changes.changes.length > 0) this.print(changes.changes.map((c) => `${c.kind} ${quotePath(c.path)}`).join('\n'))
    return changes.changes
  }
}
