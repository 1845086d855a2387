import {Args} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {bashCompletion, zshCompletion} from '../cli/completion-script.js'

/** Commands whose arguments are volume names (completed from `dot ls -q`). */
const VOLUME_COMMANDS = new Set(['diff', 'export', 'inspect', 'mount', 'recover', 'rm', 'rollback', 'snapshot', 'snapshots', 'unmount'])

export default class Completion extends DotCommand<typeof Completion> {
  static override summary = 'Print a shell completion script that also completes volume names'
  static override description =
    'Completes commands, their flags, and volume names for the commands that take one (diff, export, inspect, mount, recover, rm, rollback, snapshot, snapshots, unmount), read from the root given by --root or DOT_ROOT. Add `eval "$(dot completion bash)"` to ~/.bashrc, or `eval "$(dot completion zsh)"` to ~/.zshrc.'
  static override examples = ['eval "$(<%= config.bin %> completion bash)"', '<%= config.bin %> completion bash | sudo tee /etc/bash_completion.d/dot']
  static override enableJsonFlag = false
  static override args = {shell: Args.string({description: 'bash or zsh', options: ['bash', 'zsh'], default: 'bash'})}

  async run(): Promise<void> {
    const commands = this.config.commands
      // A topic's subcommand (snapshot rm) is not a word of its own at the top level.
      .filter((c) => !c.hidden && !c.id.includes(':'))
      .map((c) => ({id: c.id, flags: Object.keys(c.flags).map((f) => `--${f}`).sort(), takesVolumes: VOLUME_COMMANDS.has(c.id)}))
      .sort((a, b) => a.id.localeCompare(b.id))
    const render = this.args.shell === 'zsh' ? zshCompletion : bashCompletion
    this.print(render(this.config.bin, commands))
  }
}
