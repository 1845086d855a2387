/**
 * What a failed write to stdout becomes. The rule: a reader that went away (EPIPE: `dot ls | head -1`)
 * is quiet, as for any Unix filter; any other write error (ENOSPC on /dev/full, EIO) is one line on
 * stderr and exit 1, and the command still runs to its end so that it cleans up (a recover unmounts
 * its view). oclif's own listener rethrows such errors, which ends the process with a stack trace
 * and no clean-up: it is replaced.
 */
export class StdoutGuard {
  /** The first write error other than EPIPE. */
  failure: NodeJS.ErrnoException | undefined
  /** Set once the command reported an error of its own (then the write error is not repeated). */
  reported = false

  constructor(private readonly prefix: string) {}

  install(): void {
    for (const listener of process.stdout.listeners('error')) process.stdout.off('error', listener as (err: Error) => void)
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') this.failure ??= err
    })
    // A JSON document is written after the command's finally: its write error is known only at exit.
    // stderr is synchronous for files and pipes on Linux, so the line is written before the exit.
    process.on('exit', () => {
      if (!this.failure || this.reported) return
      process.stderr.write(`${this.prefix}: ${describeWriteError(this.failure)}\n`)
      if (!process.exitCode) process.exitCode = 1
    })
  }

  /** Whether stdout is broken (by something other than a reader that left). */
  get broken(): boolean {
    return this.failure !== undefined
  }
}

/** "ENOSPC: no space left on device, write" -> "writing the output: no space left on device (ENOSPC)". */
export function describeWriteError(err: NodeJS.ErrnoException): string {
  const text = err.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '')
  return `writing the output: ${text}${err.code ? ` (${err.code})` : ''}`
}
