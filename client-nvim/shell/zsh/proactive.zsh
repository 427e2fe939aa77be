# proactive-ls for Neovim: shell integration for zsh in :terminal (sourced from our .zshenv, before
# the user's .zshrc). OSC 133 A/B/C/D;<status>, OSC 633 E;<command line>, OSC 7 (cwd).
if [[ -z ${__proactive_nvim_hooked-} ]]; then
  typeset -g __proactive_nvim_hooked=1 __proactive_nvim_ran=0
  __proactive_nvim_escape() {
    local s=$1
    s=${s//\\/\\x5c}; s=${s//;/\\x3b}; s=${s//$'\n'/\\x0a}; s=${s//$'\r'/\\x0d}
    s=${s//$'\a'/\\x07}; s=${s//$'\e'/\\x1b}; s=${s//$'\t'/\\x09}
    print -rn -- "$s"
  }
  __proactive_nvim_preexec() {
    __proactive_nvim_ran=1
    printf '\e]633;E;%s\a\e]133;C\a' "$(__proactive_nvim_escape "$1")"
  }
  __proactive_nvim_precmd() {
    local code=$?
    if (( __proactive_nvim_ran )); then
      printf '\e]133;D;%s\a' "$code"
      __proactive_nvim_ran=0
    fi
    printf '\e]7;file://%s%s\a' "${HOST-}" "$PWD"
    printf '\e]133;A\a'
    [[ $PS1 == *'133;B'* ]] || PS1="$PS1"$'%{\e]133;B\a%}'
    return $code
  }
  typeset -ga preexec_functions precmd_functions
  preexec_functions+=(__proactive_nvim_preexec)
  precmd_functions=(__proactive_nvim_precmd $precmd_functions)
  # The user's .zshrc comes after us and may add its own first: keep ours first at the first prompt.
  __proactive_nvim_first() {
    precmd_functions=(__proactive_nvim_precmd ${precmd_functions:#(__proactive_nvim_precmd|__proactive_nvim_first)})
    __proactive_nvim_precmd
  }
  precmd_functions=(__proactive_nvim_first ${precmd_functions:#__proactive_nvim_precmd})
fi
