/**
 * The grammar of a request's head (request line and header lines) for request-parser.ts, and the
 * error both report: llhttp's error names, so a refusal reads as Node's own parser would say it.
 */

export class ParseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ParseError'
  }
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/

export function parseRequestLine(line: string): {method: string; url: string; minor: number} {
  const match = REQUEST_LINE.exec(line)
  if (!match) {
    const parts = line.split(' ')
    if (!TOKEN.test(parts[0])) throw new ParseError('HPE_INVALID_METHOD', 'invalid request line: bad method')
    if (parts.length === 3 && parts[1] !== '' && /^HTTP\/\d\.\d$/.test(parts[2])) throw new ParseError('HPE_INVALID_VERSION', `unsupported ${parts[2]}; expected HTTP/1.0 or HTTP/1.1`)
    if (parts.length === 3 && parts[1] !== '') throw new ParseError('HPE_INVALID_VERSION', 'invalid request line: expected HTTP/1.0 or HTTP/1.1')
    throw new ParseError('HPE_INVALID_URL', 'invalid request line: bad request target')
  }
  return {method: match[1], url: match[2], minor: Number(match[3])}
}

/** The headers this parser acts on, lower-cased; a repeated Content-Length must agree with itself. */
export function parseHeaders(lines: string[]): Map<string, string> {
  const headers = new Map<string, string>()
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    const colon = line.indexOf(':')
    // Obsolete line folding (a line starting with whitespace) and names with spaces are refused.
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid header line')
    const name = line.slice(0, colon).toLowerCase()
    if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection' && name !== 'content-type' && name !== 'expect') continue
    const value = line.slice(colon + 1).trim()
    const seen = headers.get(name)
    if (seen !== undefined && name === 'content-length' && seen !== value) throw new ParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'conflicting Content-Length headers')
    headers.set(name, seen !== undefined && name !== 'content-length' ? `${seen}, ${value}` : value)
  }
  return headers
}
