/** A command as completion needs it: its name, its flags, and whether its arguments are volume names. */
export interface CompletionCommand {
  id: string
  flags: string[]
  takesVolumes: boolean
}

/**
 * A bash completion function for `dot`: command names, each command's flags, and volume names (from
 * `dot ls -q`, one readdir of the root given by --root, or DOT_ROOT) for the commands that take them.
 * oclif's autocomplete plugin completes commands and flags only, never argument values.
 */
export function bashCompletion(bin: string, commands: CompletionCommand[]): string {
  const flagCases = commands.map((c) => `    ${c.id}) echo "${c.flags.join(' ')}" ;;`).join('\n')
  const volumeCommands = commands.filter((c) => c.takesVolumes).map((c) => c.id)
  return `# ${bin} completion for bash: eval "$(${bin} completion bash)" (or save it in /etc/bash_completion.d/${bin})
_${bin}_flags() {
  case "$1" in
${flagCases}
  esac
}

_${bin}_complete() {
  # zsh (bashcompinit) numbers array elements from 1, bash from 0: COMP_CWORD counts as bash does.
  [[ -n \${ZSH_VERSION-} ]] && setopt localoptions ksharrays
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} root=() i
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.id).join(' ')}" -- "$cur"))
    return
  fi
  # --root DIR, or --root=DIR (which bash splits at "=" into three words).
  for ((i = 2; i < COMP_CWORD; i++)); do
    if [[ \${COMP_WORDS[i]} == --root ]]; then
      if [[ \${COMP_WORDS[i+1]} == = ]]; then root=(--root "\${COMP_WORDS[i+2]}"); else root=(--root "\${COMP_WORDS[i+1]}"); fi
    fi
  done
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$(_${bin}_flags "$cmd")" -- "$cur")) ;;
    *)
      case " ${volumeCommands.join(' ')} " in
        *" $cmd "*) COMPREPLY=($(compgen -W "$(command ${bin} ls -q "\${root[@]}" 2>/dev/null)" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -f -- "$cur")) ;;
      esac
      ;;
  esac
  # zsh's compgen (bashcompinit) leaves matching the word to compadd: COMPREPLY holds only matches here too.
  if [[ -n \${ZSH_VERSION-} ]]; then
    local w matches=()
    for w in "\${COMPREPLY[@]}"; do [[ $w == "$cur"* ]] && matches+=("$w"); done
    COMPREPLY=("\${matches[@]}")
  fi
}
complete -o default -F _${bin}_complete ${bin}
`
}

/** The same function for zsh, through zsh's bash-completion emulation. */
export function zshCompletion(bin: string, commands: CompletionCommand[]): string {
  return `# ${bin} completion for zsh: eval "$(${bin} completion zsh)" in ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(bin, commands).split('\n').slice(1).join('\n')}`
}
