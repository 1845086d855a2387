/** One thing start-up or `dot gc` found out of order, and what was (or, with dryRun, would be) done. */
export interface Finding {
  /** The volume concerned, when there is one. */
  volume?: string
  path: string
  problem: string
  action: string
  /** Whether the action was carried out (false under dryRun, or for report-only findings). */
  repaired: boolean
  /**
   * `repaired`; `would-repair` under dryRun; `failed` when the repair was tried and failed; `reported`
   * for what is left alone on purpose (unreadable metadata, foreign directories): for an admin to see.
   */
  status?: FindingStatus
}

export type FindingStatus = 'repaired' | 'would-repair' | 'failed' | 'reported'

/** Carries out `action` for `finding` (or, under dryRun, says it would), recording how it went. */
export async function repair(
  dryRun: boolean,
  finding: Omit<Finding, 'repaired'>,
  action: () => unknown,
): Promise<Finding> {
  if (dryRun) return {...finding, action: `would be ${finding.action}`, repaired: false, status: 'would-repair'}
  try {
    await action()
    return {...finding, repaired: true, status: 'repaired'}
  } catch (err) {
    return {...finding, action: `${finding.action} failed: ${(err as Error).message}`, repaired: false, status: 'failed'}
  }
}
