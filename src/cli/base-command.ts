import {Command, Flags, type Interfaces} from '@oclif/core'

import {DEFAULT_ROOT} from '../core/store.js'
import type {DotError} from '../core/errors.js'
import {exitCodeFor} from './exit-codes.js'
import {toDotError} from './to-dot-error.js'

export type DotFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof DotCommand)['baseFlags'] & T['flags']>
export type DotArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Shared by every `dot` command: `--root`, `--json`, and the one place where errors become an exit
 * code plus either one line on stderr (humans) or one JSON document on stdout (`--json`).
 * Commands stay thin: parse, one call into the core, render.
 */
export abstract class DotCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    root: Flags.string({
      description: 'root directory of the volume store',
      env: 'DOT_ROOT',
      default: DEFAULT_ROOT,
      helpGroup: 'GLOBAL',
    }),
  }

  protected flags!: DotFlags<T>
  protected args!: DotArgs<T>

  override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof DotCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as DotFlags<T>
    this.args = args as DotArgs<T>
  }

  /** Turns any failure into the documented exit code; never a stack trace for a user mistake. */
  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    const error = toDotError(err)
    const exitCode = exitCodeFor(error.code)
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson(errorDocument(error, exitCode))
    } else {
      process.stderr.write(`dot ${this.id ?? ''}: ${error.message}\n`.replace('dot : ', 'dot: '))
      if (error.code === 'internal' && process.env.DEBUG) process.stderr.write(`${(error.cause as Error)?.stack ?? error.stack}\n`)
    }
  }

  /** Prints bare lines for humans and pipelines; nothing under --json (run() returns the data instead). */
  protected print(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }
}

export function errorDocument(error: DotError, exitCode: number): {error: Record<string, unknown>} {
  return {error: {code: error.code, message: error.message, exitCode, ...error.details}}
}
