/**
 * One finding of `dot doctor`: `fail` means docker-on-top cannot work as set up (the command exits
 * non-zero), `warn` that something will bite (a missing base, stale state), `info` a fact worth
 * knowing, `skip` a check that does not apply here (no Podman, no systemd).
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info' | 'skip'

export interface Check {
  /** Stable, for scripts: `overlay`, `root-xattrs`, `socket`, ... */
  id: string
  status: CheckStatus
  /** One line: what was found. */
  message: string
  /** One line: what to do about it (for fail and warn). */
  fix?: string
}

export const check = (id: string, status: CheckStatus, message: string, fix?: string): Check => ({id, status, message, ...(fix ? {fix} : {})})

/** Runs a check, turning an unexpected throw into a failed check rather than a failed doctor. */
export async function guarded(id: string, run: () => Promise<Check | Check[]>): Promise<Check[]> {
  try {
    const result = await run()
    return Array.isArray(result) ? result : [result]
  } catch (err) {
    return [check(id, 'fail', `the check itself failed: ${(err as Error).message}`)]
  }
}
