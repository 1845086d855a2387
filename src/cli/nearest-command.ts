import levenshtein from 'fast-levenshtein'

/**
 * The command closest to a mistyped one, by edit distance: the measure @oclif/plugin-not-found uses
 * for its prompt, so a script (no terminal, no prompt) is told the same command a human is offered.
 * Undefined when nothing is within half the word's length (`dot frobnicate` suggests nothing).
 */
export function nearestCommand(typed: string, commands: string[]): string | undefined {
  let best: {id: string; distance: number} | undefined
  for (const id of commands) {
    const distance = levenshtein.get(typed, id, {useCollator: true})
    if (!best || distance < best.distance) best = {id, distance}
  }
  return best && best.distance <= Math.max(1, Math.floor(typed.length / 2)) ? best.id : undefined
}
