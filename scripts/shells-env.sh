#!/usr/bin/env bash
# The shells the terminal-integration tests drive (tests/test_shell_hook.py, tests/test_nvim_client.py):
# bash is everywhere; zsh is installed from apt on CI (CI=true) when it is missing. Elsewhere this
# only says what is missing, and those tests skip with the reason.
set -uo pipefail
if command -v zsh >/dev/null 2>&1; then
  exit 0
fi
if [ "${CI:-}" != "true" ]; then
  echo "scripts/shells-env.sh: zsh is not installed; its terminal tests will be skipped (apt-get install zsh)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then
  SUDO="sudo -n"
fi
echo "scripts/shells-env.sh: installing zsh with apt" >&2
if ! { $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null \
       && DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq zsh >/dev/null; }; then
  echo "scripts/shells-env.sh: zsh could not be installed; its terminal tests will be skipped" >&2
fi
exit 0
