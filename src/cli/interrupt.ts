/**
 * Long commands (recover, export, import) run their core call through this: SIGINT or SIGTERM abort
 * it through `signal`, so the core unmounts its view and deletes its scratch before the process ends,
 * instead of dying with them left for `dot gc`. A second signal ends the process at once.
 * `onInterrupt` runs once the task has settled (cleanup done), when a signal came.
 */
export async function interruptible<T>(task: (signal: AbortSignal) => Promise<T>, onInterrupt: (signal: NodeJS.Signals) => void): Promise<T> {
  const abort = new AbortController()
  let signalled: NodeJS.Signals | undefined
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(exitCodeOf(signal))
    signalled = signal
    abort.abort(new Error(`interrupted by ${signal}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await task(abort.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    if (signalled) onInterrupt(signalled)
  }
}

/**
 * Says what an interrupted command left (`what`) and exits as the signal would have: at once, since a
 * stalled reader of stdout would hold oclif's final flush until its timeout.
 */
export function exitInterrupted(command: string, what: string, signal: NodeJS.Signals): never {
  process.stderr.write(`${command}: interrupted; ${what}\n`)
  process.exit(exitCodeOf(signal))
}

function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + (signal === 'SIGINT' ? 2 : 15)
}
