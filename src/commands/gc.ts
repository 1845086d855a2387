import {Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {terminalColumns} from '../cli/fit-columns.js'
import {renderFindings} from '../cli/findings-table.js'
import {type GcResult, gc} from '../core/repair/gc.js'
import {VolumeStore} from '../core/volume/store.js'

export default class Gc extends DotCommand<typeof Gc> {
  static override summary = 'Find and repair what crashes and reboots left behind'
  static override description = [
    'Runs the reconciliation `dot serve` runs at start and reports each finding: mount records without',
    'an overlay (dropped), overlays of ours without records (unmounted), .tmp-*/.trash-* leftovers and',
    'older builds\' stale locks (deleted), volume directories with unreadable metadata (reported, never deleted). When dockerd is reachable (DOCKER_HOST or /var/run/docker.sock),',
    'volumes with records of dockerd mounts that no container uses (a killed dockerd never unmounts) are',
    'reported, and repaired with --stale. --dry-run changes nothing.',
    '\n\nExit codes: 0 nothing to do, or everything repaired (report-only findings and --dry-run included);',
    '1 a repair failed (see the finding), or gc itself could not run.',
  ].join(' ')
  static override examples = ['<%= config.bin %> gc', '<%= config.bin %> gc --dry-run --json', '<%= config.bin %> gc --stale']
  static override flags = {
    'dry-run': Flags.boolean({description: 'report only; change nothing', default: false}),
    stale: Flags.boolean({description: "also repair volumes whose dockerd mount records no container explains", default: false}),
  }

  async run(): Promise<GcResult> {
    const store = await VolumeStore.open({root: this.flags.root})
    const result = await gc(store.context, {dryRun: this.flags['dry-run'], stale: this.flags.stale})
    await store.close()
    if (!this.jsonEnabled()) {
      const columns = terminalColumns(process.stdout)
      this.print(result.findings.length === 0 ? 'nothing to repair' : await renderFindings(result.findings, columns ? {columns} : {}))
      if (!result.docker.checked && this.flags.stale) {
        process.stderr.write(`dot gc: warning: Docker not reachable at ${result.docker.host} (${result.docker.reason}): stale mounts were not checked\n`)
      }
    }
    if (result.findings.some((f) => f.status === 'failed')) process.exitCode = 1
    return result
  }
}
