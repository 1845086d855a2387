import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {renderDiffStat} from '../cli/diff-stat-report.js'
import {quotePath} from '../cli/quote-path.js'
import {diffVolume} from '../core/diff/diff-volume.js'
import type {Change} from '../core/diff/changes.js'
import type {DiffStat} from '../core/diff/diff-stat.js'
import {VolumeStore} from '../core/volume/store.js'

export default class Diff extends DotCommand<typeof Diff> {
  static override summary = "Show what a volume changed in its base, like docker diff"
  static override description = [
    'The whole history of the volume (every snapshot and the changes since), or with --since TAG only what',
    'changed after that snapshot. One line per path, sorted: A added, C changed (content or metadata), D deleted. Deleting a directory',
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
  static override examples = ['<%= config.bin %> diff data', '<%= config.bin %> diff data --since before-upgrade', '<%= config.bin %> diff data --json', '<%= config.bin %> diff data --stat']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    since: Flags.string({description: 'only what changed after this snapshot (dot snapshots NAME lists them)', helpValue: 'TAG'}),
    stat: Flags.boolean({description: 'counts and bytes by kind, a renamed directory once, instead of every path', default: false}),
  }

  async run(): Promise<Change[] | DiffStat> {
    const store = await VolumeStore.open({root: this.flags.root})
    const changes = await diffVolume(store.context, this.args.name, {since: this.flags.since, stat: this.flags.stat})
    if (changes.stat) {
      this.print(renderDiffStat(changes.stat))
      return changes.stat
    }
    if (changes.changes.length > 0) this.print(changes.changes.map((c) => `${c.kind} ${quotePath(c.path)}`).join('\n'))
    return changes.changes
  }
}
