/**
 * A path as one line of human output, quoted the way git does (`core.quotePath=false`): unchanged
 * unless it holds a control character, a double quote or a backslash; then in double quotes with C
 * escapes (\n, \t, \", \\, other control bytes in octal). So a file named "x\nD /etc/passwd" cannot
 * forge a line of `dot diff`. Other non-ASCII text is kept as is, readable. JSON output keeps raw paths.
 */
const NEEDS_QUOTING = /[\u0000-\u001f\u007f-\u009f"\\]/
const NAMED: Record<string, string> = {'\u0007': '\\a', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\'}

export function quotePath(p: string): string {
  if (!NEEDS_QUOTING.test(p)) return p
  let out = '"'
  for (const char of p) {
    if (NAMED[char]) out += NAMED[char]
    else if (NEEDS_QUOTING.test(char)) out += [...Buffer.from(char, 'utf8')].map((byte) => `\\${byte.toString(8).padStart(3, '0')}`).join('')
    else out += char
  }
  return `${out}"`
}
