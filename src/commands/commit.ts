import readline from 'node:readline/promises'

import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {ProgressBar} from '../cli/progress-bar.js'
import {quotePath} from '../cli/quote-path.js'
import {type CommitResult, commitVolume} from '../core/changes/commit.js'
import type {Change} from '../core/diff/changes.js'

export default class Commit extends DotCommand<typeof Commit> {
  static override summary = "Write a volume's changes into its base, then empty them"
  static override description = [
    'The one command that writes to a base, and only when asked: added and changed entries are written with',
    'their type, content, mode, owner, times, xattrs and hard links; deletions (whiteouts, opaque directories)',
    'are deleted from the base; renamed directories are moved. Refused while the volume is in use (exit 5)',
    'and when a base entry it would replace or delete changed after the volume copied it (exit 4) unless',
    '--force. On a terminal it lists the changes and asks, unless --yes. --dry-run prints the changes in the',
    '`dot diff` format and writes nothing. --backup FILE first writes a layer of every base entry it replaces',
    'or deletes (and whiteouts for what it adds): `dot create undo --base DIR --from FILE && dot commit undo',
    '--yes` undoes the commit. A commit cut off by a crash leaves the volume showing what it showed; run it',
    'again to complete it. --json: {"volume", "base", "dryRun", "committed", "resumed", "changes", "backup"?}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> commit data --dry-run', '<%= config.bin %> commit data --yes --backup /backup/data-base.tar']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    'dry-run': Flags.boolean({description: 'print what would be committed; change nothing', default: false}),
    backup: Flags.string({description: 'first write the base entries it replaces or deletes into this new file', helpValue: 'FILE'}),
    force: Flags.boolean({description: 'commit even though the base changed under the changes', default: false}),
    yes: Flags.boolean({char: 'y', description: 'do not ask on a terminal', default: false}),
  }

  async run(): Promise<CommitResult> {
    const {flags} = this
    const store = await this.openStore()
    const ask = !flags.yes && !flags['dry-run'] && !this.jsonEnabled() && process.stdin.isTTY === true && process.stderr.isTTY === true
    const bar = ProgressBar.enabled() && !flags['dry-run'] ? new ProgressBar(`committing ${this.args.name}`) : undefined
    let result: CommitResult
    try {
      result = await commitVolume(store, this.args.name, {
        dryRun: flags['dry-run'],
        backup: flags.backup,
        force: flags.force,
        confirm: ask ? (changes) => confirm(this.args.name, changes) : undefined,
        progress: bar && ((done, total) => bar.update(done, total)),
      })
    } finally {
      bar?.finish()
    }
    if (flags['dry-run']) {
      if (result.changes.length > 0) this.print(result.changes.map((c) => `${c.kind} ${quotePath(c.path)}`).join('\n'))
    } else {
      this.print(`committed ${result.changes.length} change${result.changes.length === 1 ? '' : 's'} of volume "${result.volume}" into ${result.base}${result.resumed ? ' (completing an interrupted commit)' : ''}`)
    }
    return result
  }
}

async function confirm(name: string, changes: Change[]): Promise<boolean> {
  const shown = changes.slice(0, 20).map((c) => `  ${c.kind} ${quotePath(c.path)}`)
  if (changes.length > 20) shown.push(`  ... and ${changes.length - 20} more`)
  process.stderr.write(`${shown.join('\n')}\n`)
  const rl = readline.createInterface({input: process.stdin, output: process.stderr})
  try {
    const answer = await rl.question(`Write these ${changes.length} changes of volume "${name}" into its base? [y/N] `)
    return /^y(es)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
