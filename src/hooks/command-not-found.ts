import type {Hook} from '@oclif/core'

import {exitCodeFor} from '../cli/exit-codes.js'
import {errorDocument} from '../cli/base-command.js'
import {invalid} from '../core/errors.js'

/**
 * `dot nosuch` (or `dot ls extra`, which oclif reads as a command "ls extra") gets the same treatment as
 * any other bad input: one line on stderr or one JSON document, and exit code 2 — not oclif's own
 * message and exit path.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const words = options.id.split(':').join(' ')
  const commands = options.config.commands.filter((c) => !c.hidden).map((c) => c.id).sort()
  const [first, ...rest] = options.id.split(':')
  const error = commands.includes(first)
    ? invalid(`unexpected argument "${rest.join(' ')}" for dot ${first}; see dot ${first} --help`, {command: first})
    : invalid(`unknown command "${words}"; commands are: ${commands.join(', ')} (see dot --help)`, {command: words})
  const exitCode = exitCodeFor(error.code)
  process.exitCode = exitCode
  if ((options.argv ?? []).includes('--json')) {
    process.stdout.write(JSON.stringify(errorDocument(error, exitCode), null, 2) + '\n')
  } else {
    process.stderr.write(`dot: ${error.message}\n`)
  }
}

export default hook
