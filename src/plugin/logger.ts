import type {Logger} from '../core/logger.js'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** syslog priorities: under systemd, journald reads a `<N>` line prefix as the entry's priority. */
const PRIORITY: Record<LogLevel, number> = {debug: 7, info: 6, warn: 4, error: 3}

/**
 * One line per message on stderr. Under systemd (JOURNAL_STREAM is set when stderr is the journal) the
 * line carries a `<N>` priority prefix and no timestamp, since journald adds both; otherwise, e.g. in a
 * log file, an ISO timestamp and the level name. Newlines inside a message are flattened so that one
 * event stays one line.
 */
export function stderrLogger(level: LogLevel, options: {journal?: boolean; write?: (line: string) => void} = {}): Logger & {level: LogLevel} {
  const journal = options.journal ?? Boolean(process.env.JOURNAL_STREAM)
  const write = options.write ?? ((line: string) => process.stderr.write(line))
  const threshold = LOG_LEVELS.indexOf(level)
  const emit = (at: LogLevel) => (message: string) => {
    if (LOG_LEVELS.indexOf(at) < threshold) return
    const text = message.replaceAll('\n', ' | ')
    write(journal ? `<${PRIORITY[at]}>${text}\n` : `${new Date().toISOString()} ${at.padEnd(5)} ${text}\n`)
  }
  return {level, debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error')}
}
