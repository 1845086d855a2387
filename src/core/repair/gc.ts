import type {StoreContext} from '../volume/context.js'
import type {Finding} from './finding.js'
import {reconcile} from './reconcile.js'
import {type StaleOptions, type StaleReport, staleFindings} from './stale.js'

export interface GcOptions extends StaleOptions {
  /** Report only; change nothing. */
  dryRun?: boolean
}

export interface GcResult {
  findings: Finding[]
  /** How many mount namespaces were read to tell who uses the volumes with engine mount records. */
  kernel: StaleReport['kernel']
  /** Whether dockerd was asked which volumes its containers use (extra evidence), and what it said. */
  docker: StaleReport['docker']
}

/**
 * `dot gc`: the start-up reconcile of the whole root (see `reconcile`), then the volumes whose
 * engine mount records no one explains (see `staleFindings`; only `names`, when given), reported, and
 * repaired with `stale`.
 */
export async function gc(ctx: StoreContext, options: GcOptions = {}): Promise<GcResult> {
  const dryRun = options.dryRun ?? false
  const findings = await reconcile(ctx, {dryRun})
  const stale = await staleFindings(ctx, {...options, dryRun})
  return {findings: [...findings, ...stale.findings], kernel: stale.kernel, docker: stale.docker}
}
