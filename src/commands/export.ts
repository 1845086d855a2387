import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {exitInterrupted, interruptible} from '../cli/interrupt.js'
import {type ExportResult, exportVolume} from '../core/changes/export.js'
import {writeLayerFile} from '../core/changes/layer-file.js'
import {invalid} from '../core/errors.js'

export default class Export extends DotCommand<typeof Export> {
  static override summary = "Write a volume's changes as an OCI image layer (tar)"
  static override description = [
    'The changes against the base as an OCI image layer (of a volume with snapshots: its whole history in',
    'one layer, or with --since TAG only what changed after that snapshot): added and changed entries with their type, mode,',
    'numeric owner, nanosecond times (PAX), xattrs (not overlayfs\'s own), hard links and sparse files;',
    '`.wh.NAME` for deletions, `.wh..wh..opq` for directories that hide their base content. Reads the upper',
    'layer and the base (never mounts the volume read-write); a mounted volume works too, with a warning.',
    'To stdout (not a terminal) or --to FILE (a new file, written completely or not at all). Runs as root.',
    '--json (with --to only): {"volume", "to", "bytes", "entries", "whiteouts", "opaques", "warnings"}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> export data > data-changes.tar', '<%= config.bin %> export data --to /backup/data.tar', '<%= config.bin %> export a | ssh host dot import b']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    to: Flags.string({description: 'write the layer into this new file instead of stdout', helpValue: 'FILE'}),
    since: Flags.string({description: 'only what changed after this snapshot', helpValue: 'TAG'}),
  }

  async run(): Promise<ExportResult> {
    const {flags} = this
    if (!flags.to && this.jsonEnabled()) throw invalid('without --to the layer goes to stdout, so --json needs --to FILE')
    if (!flags.to && process.stdout.isTTY) throw invalid('refusing to write a tar archive to a terminal; redirect it (dot export NAME > FILE), pipe it, or use --to FILE')
    const store = await this.openStore()
    const {name} = this.args
    const left = flags.to ? `nothing was written to ${flags.to}` : 'the layer on stdout is incomplete'
    const result = await interruptible(
      (signal) => (flags.to ? writeLayerFile(flags.to, (out) => exportVolume(store, name, out, {to: flags.to, since: flags.since, signal})) : exportVolume(store, name, process.stdout, {since: flags.since, signal})),
      (signal) => exitInterrupted('dot export', `${left}; volume "${name}" is unchanged`, signal),
    )
    for (const warning of result.warnings) this.warnLine(`warning: ${warning}`)
    if (flags.to) this.print(`wrote the changes of volume "${result.volume}" into ${flags.to} (${result.entries} entries)`)
    return result
  }
}
