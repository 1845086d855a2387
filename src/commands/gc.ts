import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {terminalColumns} from '../cli/fit-columns.js'
import {renderFindings} from '../cli/findings-table.js'
import {type GcResult, gc} from '../core/repair/gc.js'

export default class Gc extends DotCommand<typeof Gc> {
  static override summary = 'Find and repair what crashes and reboots left behind'
  static override description = [
    'Runs the reconciliation `dot serve` runs at start and reports each finding: mount records without',
    'an overlay (dropped), overlays of ours without records (unmounted), .tmp-*/.trash-* leftovers and',
    'older builds\' stale locks (deleted), volume directories with unreadable metadata (reported, never deleted).',
    'Then volumes with mount records of a container engine (dockerd, Podman) that no one uses: no mount',
    'namespace holds their overlay (read from /proc, whatever the engine) and dockerd, if reachable',
    '(DOCKER_HOST or /var/run/docker.sock), knows no live container on them; a killed dockerd never',
    'unmounts. Those are reported, and repaired with --stale; records younger than --grace are left alone.',
    'NAME... limits that check to those volumes. --dry-run changes nothing.',
    '\n\nExit codes: 0 nothing to do, or everything repaired (report-only findings and --dry-run included);',
    '1 a repair failed (see the finding), or gc itself could not run.',
  ].join(' ')
  static override examples = ['<%= config.bin %> gc', '<%= config.bin %> gc --dry-run --json', '<%= config.bin %> gc --stale', '<%= config.bin %> gc --stale web-data']
  static override strict = false
  static override args = {
    names: Args.string({description: 'volumes to check for stale mount records (default: all)', required: false}),
  }
  static override flags = {
    'dry-run': Flags.boolean({description: 'report only; change nothing', default: false}),
    stale: Flags.boolean({description: 'also repair volumes whose engine mount records no one uses', default: false}),
    grace: Flags.integer({description: 'leave records younger than this many seconds alone (a container may be starting)', default: 5, min: 0, helpValue: 'SECONDS'}),
  }

  async run(): Promise<GcResult> {
    const names = this.positionals.length > 0 ? [...new Set(this.positionals)] : undefined
    const store = await this.openStore()
    const result = await gc(store.context, {dryRun: this.flags['dry-run'], stale: this.flags.stale, names, graceMs: this.flags.grace * 1000})
    if (!this.jsonEnabled()) {
      const columns = terminalColumns(process.stdout)
      this.print(result.findings.length === 0 ? 'nothing to repair' : await renderFindings(result.findings, columns ? {columns} : {}))
    }
    if (result.findings.some((f) => f.status === 'failed')) process.exitCode = 1
    return result
  }
}
