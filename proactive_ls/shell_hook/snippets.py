"""The rc snippets ``proactive-ls shell-hook bash|zsh|fish`` prints.

Each one, sourced by an interactive shell, reports every finished command (the line as typed, the
folder it was typed in, its exit status and duration) by running the reporter in the background,
so the prompt never waits for it. An empty Enter reports nothing. The user's own prompt hooks
keep working: ours runs first and hands the exit status on.
"""

from __future__ import annotations

import shlex

SHELLS = ("bash", "zsh", "fish")

_BASH = r"""# proactive-ls shell hook (bash): reports each finished command to the proactive-ls servers
# of its workspace. Put this line at the end of ~/.bashrc:  eval "$(proactive-ls shell-hook bash)"
if [[ $- == *i* && -z ${__proactive_ls_hooked-} ]]; then
  __proactive_ls_hooked=1
  __proactive_ls_x=
  __proactive_ls_t0=0
  __proactive_ls_cwd=$PWD
  __proactive_ls_precmd() {
    local code=$? now=${EPOCHREALTIME/[.,]/} line
    if (( __proactive_ls_t0 > 0 )); then
      line=$(HISTTIMEFORMAT= builtin fc -ln -0 2>/dev/null)
      line=${line#"${line%%[![:space:]]*}"}
      ( @REPORT@ --shell bash --exit-code "$code" --duration-ms "$(( (now - __proactive_ls_t0) / 1000 ))" \
          --cwd "$__proactive_ls_cwd" -- "$line" </dev/null >/dev/null 2>&1 & )
      __proactive_ls_t0=0
    fi
    __proactive_ls_cwd=$PWD
    return $code
  }
  # PS0 is expanded when a command starts (not for an empty line): its arithmetic notes the time.
  PS0="${PS0-}"'${__proactive_ls_x:0:$((__proactive_ls_t0=${EPOCHREALTIME/[.,]/},0))}'
  PROMPT_COMMAND="__proactive_ls_precmd${PROMPT_COMMAND:+;$PROMPT_COMMAND}"
fi
"""

_ZSH = r"""# proactive-ls shell hook (zsh): reports each finished command to the proactive-ls servers
# of its workspace. Put this line at the end of ~/.zshrc:  eval "$(proactive-ls shell-hook zsh)"
if [[ -o interactive && -z ${__proactive_ls_hooked-} ]]; then
  typeset -g __proactive_ls_hooked=1 __proactive_ls_line= __proactive_ls_cwd= __proactive_ls_t0=
  zmodload zsh/datetime
  __proactive_ls_preexec() {
    __proactive_ls_line=$1 __proactive_ls_cwd=$PWD __proactive_ls_t0=$EPOCHREALTIME
  }
  __proactive_ls_precmd() {
    local code=$?
    if [[ -n $__proactive_ls_t0 ]]; then
      local -i ms=$(( (EPOCHREALTIME - __proactive_ls_t0) * 1000 ))
      ( @REPORT@ --shell zsh --exit-code "$code" --duration-ms "$ms" \
          --cwd "$__proactive_ls_cwd" -- "$__proactive_ls_line" </dev/null >/dev/null 2>&1 & )
      __proactive_ls_t0=
    fi
    return $code
  }
  typeset -ga preexec_functions precmd_functions
  preexec_functions+=(__proactive_ls_preexec)
  precmd_functions=(__proactive_ls_precmd $precmd_functions)
fi
"""

_FISH = r"""# proactive-ls shell hook (fish): reports each finished command to the proactive-ls servers
# of its workspace. In ~/.config/fish/config.fish:  proactive-ls shell-hook fish | source
if status is-interactive; and not set -q __proactive_ls_hooked
  set -g __proactive_ls_hooked 1
  function __proactive_ls_preexec --on-event fish_preexec
    set -g __proactive_ls_cwd $PWD
  end
  function __proactive_ls_postexec --on-event fish_postexec
    set -l code $status
    set -l ms $CMD_DURATION
    test -n "$argv[1]"; or return $code
    @REPORT@ --shell fish --exit-code $code --duration-ms $ms --cwd "$__proactive_ls_cwd" -- "$argv[1]" \
      </dev/null >/dev/null 2>&1 &
    disown 2>/dev/null
  end
end
"""

_TEMPLATES = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}


def snippet(shell: str, python: str) -> str:
    """The rc snippet for `shell`, running the reporter with the interpreter `python`."""
    template = _TEMPLATES.get(shell)
    if template is None:
        raise ValueError(f"{shell!r} is not one of {', '.join(SHELLS)}")
    report = f"{shlex.quote(python)} -m proactive_ls.shell_hook.report"
    return template.replace("@REPORT@", report)
