import type {Check, CheckStatus} from '../core/doctor/check.js'
import type {DoctorReport} from '../core/doctor/doctor.js'

/** `dot doctor`'s exit code when a check failed (README, exit codes). */
export const DOCTOR_FAILED_EXIT = 8

const LABEL: Record<CheckStatus, string> = {ok: 'ok', warn: 'warn', fail: 'FAIL', info: 'info', skip: 'skip'}
/** ANSI colours by status, for a terminal only. */
const COLOUR: Record<CheckStatus, string> = {ok: '32', warn: '33', fail: '31;1', info: '36', skip: '2'}

/** One line per check: status, id, what was found, and for a problem what to do ("fix: ..."). */
export function renderDoctor(report: DoctorReport, options: {colour: boolean}): string {
  const width = Math.max(...report.checks.map((c) => c.id.length))
  const lines = report.checks.map((c: Check) => {
    const label = LABEL[c.status].padEnd(4)
    const shown = options.colour ? `\u001B[${COLOUR[c.status]}m${label}\u001B[0m` : label
    const fix = c.fix && (c.status === 'fail' || c.status === 'warn' || c.status === 'info') ? `; fix: ${c.fix}` : ''
    return `${shown}  ${c.id.padEnd(width)}  ${c.message}${fix}`
  })
  const {fail, warn, ok} = report.counts
  lines.push(`${fail} failed, ${warn} warning(s), ${ok} ok${fail > 0 ? `: exit ${DOCTOR_FAILED_EXIT}` : ''}`)
  return lines.join('\n')
}
