import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {ProgressBar} from '../cli/progress-bar.js'
import {exitInterrupted, interruptible} from '../cli/interrupt.js'
import {quotePath} from '../cli/quote-path.js'
import {invalid} from '../core/errors.js'
import {type RecoverResult, recoverToDirectory, recoverToTar} from '../core/recover/recover.js'
import {VolumeStore} from '../core/volume/store.js'

export default class Recover extends DotCommand<typeof Recover> {
  static override summary = "Salvage a volume's content (base plus changes) without changing the volume"
  static override description = [
    'Writes the volume as containers last saw it: the base with the changes applied. For a volatile',
    'volume this works until its next first mount, which discards the changes. Types, modes, owners,',
    'times, symlinks, hard links, sparse files and xattrs are kept; whiteouts never appear.',
    '\n\n--changes-only writes only new and changed files and directories (with their parent directories)',
    'and lists the deleted paths ("D /path": on stdout with --to, on stderr with --tar; "deleted" in --json);',
    'with --to it also writes them into DIR/.docker-on-top-deletions, one path a line.',
    '\n\nA mounted volume is refused unless --force. Exit codes: 0 done, 2 bad usage or target, 3 no such',
    'volume, 4 target not empty, 5 volume in use; after SIGINT/SIGTERM the view is still unmounted and',
    '--tar exits 130/143 (--to exits 1).',
  ].join(' ')
  static override examples = [
    '<%= config.bin %> recover data --to /backup/data',
    '<%= config.bin %> recover data --to /backup/data-changes --changes-only',
    '<%= config.bin %> recover data --tar | tar -x -C /backup/data',
  ]
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    to: Flags.string({description: 'write into this new or empty directory', helpValue: 'DIR', exactlyOne: ['to', 'tar']}),
    tar: Flags.boolean({description: 'write a tar archive (pax) to stdout', exactlyOne: ['to', 'tar']}),
    'changes-only': Flags.boolean({description: 'only what changed; list the deletions', default: false}),
    since: Flags.string({description: 'only what changed after this snapshot (implies --changes-only)', helpValue: 'TAG'}),
    force: Flags.boolean({description: 'copy even while the volume is mounted (the copy may be inconsistent)', default: false}),
  }

  async run(): Promise<RecoverResult> {
    const {flags} = this
    if (flags.tar && this.jsonEnabled()) throw invalid('--tar writes the archive to stdout, so it cannot be combined with --json')
    if (flags.tar && process.stdout.isTTY) throw invalid('refusing to write a tar archive to a terminal; pipe it (dot recover NAME --tar | tar -x -C DIR) or redirect it to a file')
    const store = await VolumeStore.open({root: this.flags.root})
    const bar = ProgressBar.enabled() ? new ProgressBar(`recovering ${this.args.name}`) : undefined
    const options = {changesOnly: flags['changes-only'], since: flags.since, force: flags.force, progress: bar && ((done: number, total: number) => bar.update(done, total))}
    // Ctrl-C or a SIGTERM stops the copy but still unmounts the temporary view (no leftover for gc);
    // --to then fails as the core reports it (exit 1).
    const {name} = this.args
    const onInterrupt = (signal: NodeJS.Signals) => {
      bar?.finish()
      if (flags.tar) exitInterrupted('dot recover', `the archive on stdout is incomplete and volume "${name}" is unchanged`, signal)
    }
    let result: RecoverResult
    try {
      result = await interruptible((signal) => {
        const run = {...options, signal}
        return flags.tar ? recoverToTar(store.context, name, process.stdout, run) : recoverToDirectory(store.context, name, flags.to!, run)
      }, onInterrupt)
    } finally {
      bar?.finish()
    }
    if (!this.jsonEnabled()) {
      for (const warning of result.warnings) process.stderr.write(`dot recover: warning: ${warning}\n`)
      const deletions = result.deleted.map((p) => `D ${quotePath(p)}\n`).join('')
      if (flags.tar) process.stderr.write(deletions)
      else this.print(`wrote volume "${result.volume}"${result.changesOnly ? ' (changes only)' : ''} into ${result.to}${result.deletionsFile ? ` (deletions listed in ${result.deletionsFile})` : ''}\n${deletions}`)
    }
    return result
  }
}
