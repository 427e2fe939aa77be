# proactive-ls for Neovim: Neovim points ZDOTDIR here for zsh in :terminal. Put the user's ZDOTDIR
# back, read their .zshenv as zsh would have, and in an interactive shell add the prompt marks.
if (( ${+PROACTIVE_NVIM_USER_ZDOTDIR} )); then
  export ZDOTDIR=$PROACTIVE_NVIM_USER_ZDOTDIR
else
  unset ZDOTDIR
fi
unset PROACTIVE_NVIM_USER_ZDOTDIR
__proactive_nvim_dir=${${(%):-%x}:A:h}
if [[ -f ${ZDOTDIR:-$HOME}/.zshenv ]]; then
  source "${ZDOTDIR:-$HOME}/.zshenv"
fi
if [[ -o interactive && -n ${NVIM-} ]]; then
  source "$__proactive_nvim_dir/proactive.zsh"
fi
unset __proactive_nvim_dir
