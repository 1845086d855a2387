import {type DotResult, runDot} from '../helpers/run-dot.js'

/** Shared by the cli-*.test.ts suites: the real `dot` CLI, run against one store root. */

/** `dot <command> --root <root> [--json] <rest...>`: flags first, so `--` in `rest` still ends the flags. */
export function dotArgs(root: string, command: string[], options: {json?: boolean} = {}): string[] {
  const [verb, ...rest] = command
  return [verb, ...(options.json ? ['--json'] : []), '--root', root, ...rest]
}

/**
 * Root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: still uid 0 (so it can mount and write the
 * store root it owns), but file permissions apply to it, as to a hardened service
 * (CapabilityBoundingSet=). This is how a test gets a base directory that root really cannot read.
 */
export const WITHOUT_DAC = ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-all', '--']

/** Like runDot, with the CLI started under `prefix` (e.g. WITHOUT_DAC). */
export function runDotUnder(prefix: string[], args: string[]): Promise<DotResult> {
  return runDot(args, {prefix})
}

/** Exactly one line, newline-terminated: what a human gets on stderr for an error. */
export function isOneLine(text: string): boolean {
  return text.endsWith('\n') && !text.slice(0, -1).includes('\n')
}
