import {Command, Flags, type Interfaces} from '@oclif/core'

import {DEFAULT_ROOT, VolumeStore} from '../core/volume/store.js'
import {type DotError, invalid} from '../core/errors.js'
import {exitCodeFor} from './exit-codes.js'
import {StdoutGuard} from './stdout-guard.js'
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
      helpValue: 'DIR',
      env: 'DOT_ROOT',
      default: DEFAULT_ROOT,
      helpGroup: 'GLOBAL',
    }),
  }

  protected flags!: DotFlags<T>
  protected args!: DotArgs<T>
  /** Every positional argument, for commands taking several names (`static strict = false`). */
  protected positionals!: string[]
  private store: VolumeStore | undefined
  private stdoutGuard: StdoutGuard | undefined

  override async init(): Promise<void> {
    this.stdoutGuard = new StdoutGuard(`dot${this.id ? ` ${this.id}` : ''}`)
    this.stdoutGuard.install()
    await super.init()
    const {args, argv, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof DotCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    refuseEmptyFlags(flags, UNSET_MEANS_DEFAULT)
    this.flags = flags as DotFlags<T>
    this.args = args as DotArgs<T>
    this.positionals = argv as string[]
  }

  /**
   * The store on `--root`, opened once; `finally` waits for its background cleanups before exiting.
   * The core's warnings (a volume skipped for unreadable metadata, stale records dropped, an overlay
   * detached because it was busy) reach the admin as lines on stderr; its info and debug do not.
   */
  protected async openStore(): Promise<VolumeStore> {
    const warn = (message: string) => this.warnLine(`warning: ${message}`)
    this.store ??= await VolumeStore.open({root: this.flags.root, logger: {debug() {}, info() {}, warn, error: warn}})
    return this.store
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    await this.store?.close().catch(() => {})
    return super.finally(err)
  }

  /** Turns any failure into the documented exit code; never a stack trace for a user mistake. */
  protected override async catch(err: Error & {exitCode?: number}): Promise<void> {
    const error = toDotError(err)
    const exitCode = exitCodeFor(error.code)
    process.exitCode = exitCode
    if (this.stdoutGuard?.broken) {
      // The command failed on (or after) a write error: say that once, on stderr, as stdout is gone.
      this.stdoutGuard.reported = true
      process.stderr.write(`dot${this.id ? ` ${this.id}` : ''}: ${error.message}\n`)
    } else if (this.jsonEnabled()) {
      this.logJson(errorDocument(error, exitCode))
    } else {
      this.warnLine(error.message)
      if (error.code === 'internal' && process.env.DEBUG) process.stderr.write(`${(error.cause as Error)?.stack ?? error.stack}\n`)
    }
  }

  /** One line on stderr for a human, prefixed with the command (`dot rm: ...`); nothing under --json. */
  protected warnLine(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`dot${this.id ? ` ${this.id}` : ''}: ${message}\n`)
  }

  /** Prints bare lines for humans and pipelines; nothing under --json (run() returns the data instead). */
  protected print(text: string): void {
    if (!this.jsonEnabled()) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }
}

/** Flags whose "" the core refuses with a message of its own (`option "base" is empty`, `mount ID is empty`). */
const UNSET_MEANS_DEFAULT = new Set(['base', 'id', 'opt'])

/**
 * A flag given as "" (`--root "$UNSET"`) is refused: for a path it would be the working directory
 * (`dot gc --root ""` sweeping it), for `--to`/`--from` stdout or stdin.
 */
function refuseEmptyFlags(flags: Record<string, unknown>, own: Set<string>): void {
  const empty = Object.keys(flags).filter((name) => flags[name] === '' && !own.has(name))
  if (empty.length > 0) throw invalid(`--${empty[0]} is empty; give a value or leave the flag out`, {flag: empty[0]})
}

export function errorDocument(error: DotError, exitCode: number): {error: Record<string, unknown>} {
  return {error: {code: error.code, message: error.message, exitCode, ...error.details}}
}
