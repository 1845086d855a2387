/**
 * Whether human output may be coloured: only on a terminal, and never when NO_COLOR is set to a
 * non-empty value (no-color.org). Decided here once, so a pipe or a log file never sees escape codes.
 */
export function colourEnabled(stream: {isTTY?: boolean} = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true
}
