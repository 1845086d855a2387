import type {Hook} from '@oclif/core'

import {errorDocument} from '../cli/base-command.js'
import {exitCodeFor} from '../cli/exit-codes.js'
import {nearestCommand} from '../cli/nearest-command.js'
import {type DotError, invalid} from '../core/errors.js'

/**
 * `dot lss` (or `dot ls extra`, which oclif reads as a command "ls extra") is bad input like any
 * other: exit code 2, one line on stderr or one JSON document. On a terminal, @oclif/plugin-not-found
 * asks "Did you mean ls?" and runs it when the answer is yes; without one (scripts, --json) the
 * message names the nearest command instead.
 */
const hook: Hook<'command_not_found'> = async function (options) {
  const commands = options.config.commands.filter((c) => !c.hidden).map((c) => c.id).sort()
  const [first, ...rest] = options.id.split(':')
  const words = options.id.split(':').join(' ')
  const json = (options.argv ?? []).includes('--json')
  if (commands.includes(first)) {
    fail(invalid(`unexpected argument "${rest.join(' ')}" for dot ${first}; see dot ${first} --help`, {command: first}), json)
    return
  }
  const suggestion = nearestCommand(options.id, commands)
  const error = invalid(`unknown command "${words}"; ${suggestion ? `did you mean "${suggestion}"? ` : ''}commands are: ${commands.join(', ')} (see dot --help)`, {
    command: words,
    ...(suggestion ? {suggestion} : {}),
  })
  if (json || !process.stdin.isTTY || !process.stderr.isTTY || !suggestion) {
    fail(error, json)
    return
  }
  const {default: prompt} = (await import('@oclif/plugin-not-found')) as {default: Hook<'command_not_found'>}
  // Its refusal (exit 127 "Run dot help") becomes ours: one line, exit 2.
  const context = {...this, warn: () => {}, error: () => fail(error, false)}
  return prompt.call(context, options)
}

function fail(error: DotError, json: boolean): void {
  const exitCode = exitCodeFor(error.code)
  process.exitCode = exitCode
  if (json) process.stdout.write(JSON.stringify(errorDocument(error, exitCode), null, 2) + '\n')
  else process.stderr.write(`dot: ${error.message}\n`)
}

export default hook
