# proactive-ls for Neovim: shell integration for bash in :terminal.
#
# Sourced at the end of shell/bashrc (`bash --rcfile`, when 'shell' is bash), or else by the
# PROMPT_COMMAND=". <this file>[;<the user's own>]" Neovim exports, at the first prompt after the
# user's ~/.bashrc (if that rc keeps PROMPT_COMMAND). Nothing of the user's is edited: this wraps
# their PROMPT_COMMAND and PS0 and marks the prompt with the escape sequences Neovim reports through
# TermRequest: OSC 133 A (prompt) B (input) C (output) D;<status> (done), OSC 633 E;<command line>
# and OSC 7 (cwd).
if [[ $- == *i* && -n ${NVIM-} && -z ${__proactive_nvim_hooked-} ]]; then
  __proactive_nvim_hooked=1
  __proactive_nvim_x=
  __proactive_nvim_ran=0

  # Our bootstrap out of the user's PROMPT_COMMAND, ours in front of what stays.
  __proactive_nvim_user_pc=${PROMPT_COMMAND-}
  if [[ -n ${PROACTIVE_NVIM_BASH_BOOT-} ]]; then
    __proactive_nvim_user_pc=${__proactive_nvim_user_pc//"$PROACTIVE_NVIM_BASH_BOOT"/}
  fi
  __proactive_nvim_user_pc=${__proactive_nvim_user_pc#;}
  unset PROACTIVE_NVIM_BASH_BOOT
  export -n PROMPT_COMMAND  # a nested bash reads no bootstrap of ours (it has no NVIM marks to give)

  __proactive_nvim_escape() {
    # OSC 633 E escaping: backslash, semicolon and control characters as \xHH
    local s=$1
    s=${s//\\/\\x5c}; s=${s//;/\\x3b}; s=${s//$'\n'/\\x0a}; s=${s//$'\r'/\\x0d}
    s=${s//$'\a'/\\x07}; s=${s//$'\e'/\\x1b}; s=${s//$'\t'/\\x09}
    printf '%s' "$s"
  }
  __proactive_nvim_preexec() {
    local line
    line=$(HISTTIMEFORMAT= builtin fc -ln -0 2>/dev/null)
    line=${line#"${line%%[![:space:]]*}"}
    printf '\e]633;E;%s\a\e]133;C\a' "$(__proactive_nvim_escape "$line")"
  }
  __proactive_nvim_precmd() {
    local code=$?
    if (( __proactive_nvim_ran )); then
      printf '\e]133;D;%s\a' "$code"
      __proactive_nvim_ran=0
    fi
    printf '\e]7;file://%s%s\a' "${HOSTNAME-}" "$PWD"
    printf '\e]133;A\a'
    return $code
  }
  __proactive_nvim_postcmd() {
    local code=$?
    # The user's prompt command may have rebuilt PS1: mark where the input starts again.
    [[ $PS1 == *'133;B'* ]] || PS1="$PS1"'\[\e]133;B\a\]'
    return $code
  }
  # PS0: the arithmetic notes that a command runs (PS0 is not shown for an empty line), the
  # command substitution prints E and C.
  PS0='${__proactive_nvim_x:0:$((__proactive_nvim_ran=1,0))}$(__proactive_nvim_preexec)'"${PS0-}"
  if [[ -n $__proactive_nvim_user_pc ]]; then
    PROMPT_COMMAND="__proactive_nvim_precmd"$'\n'"$__proactive_nvim_user_pc"$'\n'"__proactive_nvim_postcmd"
  else
    PROMPT_COMMAND=$'__proactive_nvim_precmd\n__proactive_nvim_postcmd'
  fi
  if [[ -n ${__proactive_nvim_from_prompt_command-} ]]; then
    # This first prompt: the bootstrap ran inside PROMPT_COMMAND, so mark it by hand.
    __proactive_nvim_precmd
    if [[ -n $__proactive_nvim_user_pc ]]; then
      eval "$__proactive_nvim_user_pc"
    fi
    __proactive_nvim_postcmd
  fi
fi
