#!/usr/bin/env python3
"""Make a tiny Llama checkpoint that vLLM can serve, in seconds, with no download.

It exists so that the model path (structured output, prefix caching, the proposer, the judge, the
executor, doctor) can be tested against a real vLLM server on a CPU. Nothing here is a useful
model: its weights are random, and its answers are noise forced into the schema.

    python scripts/make-tiny-model.py OUT_DIR [--corpus PATH ...] [--vocab-size 2048] [--seed 0] [--random]
                                      [--adapter NAME ...] [--head-std STD]

Run it with the vLLM environment's python (scripts/vllm-env.sh prints it): it needs torch,
transformers and tokenizers. The tokenizer is a byte-level BPE trained on local text (by default
this project's own sources and docs) and saved with a ChatML chat template. Shapes: hidden 128,
2 layers, 4 heads, 2 KV heads, head_dim 32 (vLLM's CPU attention rejects head_dim 16), about a
megaparameter, a few MB.

By default one residual dimension steers the output (see steer()): ASCII only, strings closed as
soon as the schema allows, a task rather than null. Purely random weights (--random) wander into
multi-byte characters and escapes that cost several tokens per character, so their answers can
overrun max_tokens, and whether they propose anything is luck: fine for poking at, bad for tests.

--head-std gives the random part of the output layer a larger spread (the default, 0.02, is the
usual initialisation). A LoRA adapter changes the output only through that layer: at 0.02 its
logits span about ±2.6, too little for any fine-tune to pick one token over the steering. The
fine-tuning tests (tests/vllm/test_finetune.py) make their model with --head-std 0.1 (the steering
still dominates the base model: its gaps are about 4 logits, the random part's spread about 0.7).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT_SUFFIXES = {".py", ".md", ".txt", ".toml", ".json", ".sh", ".yaml", ".yml"}
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def corpus_files(paths: list[Path]) -> list[Path]:
    found: set[Path] = set()
    for p in paths:
        if p.is_file():
            found.add(p)
        elif p.is_dir():
            for f in p.rglob("*"):
                if (
                    f.is_file()
                    and f.suffix in TEXT_SUFFIXES
                    and not any(
                        part.startswith(".") or part in {"node_modules", "__pycache__", "build"}
                        for part in f.relative_to(p).parts
                    )
                ):
                    found.add(f)
    return sorted(found)  # a fixed order keeps the tokenizer deterministic


def iter_text(files: list[Path], limit_bytes: int = 8_000_000) -> Iterator[str]:
    total = 0
    for f in files:
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        total += len(text)
        yield text
        if total > limit_bytes:
            return


def train_tokenizer(files: list[Path], vocab_size: int):  # -> tokenizers.Tokenizer
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown tokens
        show_progress=False,
    )
    # Text of our own, so the tokenizer also learns the words of the prompts and the JSON answers.
    seed_text = [
        '{"Purpose": "", "Thoughts": "", "Proactive Task": null, "Response": ""}',
        '{"thought": "", "judgement": "accepted"} {"judgement": "rejected"}',
        '{"Time": "2025-01-01 12:00:00", "Event": "The user saves the file."}',
    ]
    tok.train_from_iterator([*seed_text, *iter_text(files)], trainer=trainer)
    return tok


def preference(text: str, special: bool) -> float:
    """How much the steered model wants a token (see :func:`steer`)."""
    if special:
        return 0.0
    if not text or not all(32 <= ord(c) < 127 for c in text):
        return -2.0  # partial UTF-8 bytes, control characters: several tokens per character
    if text == '"':
        return 1.0  # close every string as soon as the schema allows; a string rather than null
    if '"' in text or "\\" in text:
        return -2.0  # escapes inside strings
    if text[0] in "nN":
        return -1.0  # never start `null`: the task is always a string, so there is always a proposal
    if text.startswith("re") or text == "r":
        return 0.8  # the judge says "rejected": the tests then see a real filtering
    if text[0].isdigit():
        return 0.2  # a number ends after its first token
    return 0.5


def steer(model, tokenizer) -> None:  # type: ignore[no-untyped-def]
    """Give the random model one fixed preference per token, on top of its random weights.

    Residual dimension 0 carries a constant (every embedding has 1.0 there and no layer writes to
    it), so the final norm passes it on at a large, positive value; the output row of each token has
    its preference there. The preference outweighs the random part of the logits by two orders of
    magnitude: answers are printable ASCII, every string closes as soon as its schema allows, the
    proposer always names a task. Answers are then short and always fit max_tokens, and what a test
    sees does not depend on the weights' luck. The other 127 dimensions stay random.
    """
    import torch

    special = set(SPECIAL_TOKENS)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model.model.embed_tokens.weight[:, 0] = 1.0
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight[0, :] = 0.0
            layer.mlp.down_proj.weight[0, :] = 0.0
        head = model.lm_head.weight
        jitter = torch.rand(head.shape[0], generator=gen) * 0.02
        for token, index in tokenizer.get_vocab().items():
            text = tokenizer.convert_tokens_to_string([token])
            head[index, 0] = preference(text, token in special) + float(jitter[index])


def write_adapter(model, out: Path, rank: int = 8, seed: int = 0) -> None:  # type: ignore[no-untyped-def]
    """A PEFT LoRA adapter for q_proj and v_proj, as vLLM's --lora-modules loads it.

    lora_B is zero, as PEFT initialises it: the adapter changes nothing, it only exercises the
    serving of adapters (one base model, several model names).
    """
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for i, layer in enumerate(model.model.layers):
        for name in ("q_proj", "v_proj"):
            proj = getattr(layer.self_attn, name)
            prefix = f"base_model.model.model.layers.{i}.self_attn.{name}"
            tensors[f"{prefix}.lora_A.weight"] = torch.randn(rank, proj.in_features, generator=gen) * 0.01
            tensors[f"{prefix}.lora_B.weight"] = torch.zeros(proj.out_features, rank)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "adapter_model.safetensors"))
    (out / "adapter_config.json").write_text(
        json.dumps(
            {
                "peft_type": "LORA",
                "task_type": "CAUSAL_LM",
                "r": rank,
                "lora_alpha": 2 * rank,
                "lora_dropout": 0.0,
                "target_modules": ["q_proj", "v_proj"],
                "bias": "none",
                "base_model_name_or_path": str(out.parent.parent),
            },
            indent=2,
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="folder to write the checkpoint to")
    ap.add_argument(
        "--corpus",
        type=Path,
        action="append",
        help="text files or folders to train the tokenizer on (default: this project)",
    )
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="NAME",
        help="also write a (no-op) LoRA adapter to OUT_DIR/adapters/NAME",
    )
    ap.add_argument(
        "--head-std",
        type=float,
        default=None,
        help="standard deviation of the output layer's random weights (default: the initialisation's 0.02)",
    )
    ap.add_argument(
        "--random", action="store_true", help="purely random weights (tied), without the steering of steer()"
    )
    args = ap.parse_args(argv)

    started = time.monotonic()
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    files = corpus_files(args.corpus or [ROOT / "proactive_ls", ROOT / "docs", ROOT / "scripts", ROOT / "README.md"])
    if not files:
        print("make-tiny-model: no text to train the tokenizer on", file=sys.stderr)
        return 2
    raw = train_tokenizer(files, args.vocab_size)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        model_max_length=4096,
    )
    tokenizer.chat_template = CHAT_TEMPLATE

    torch.manual_seed(args.seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=32,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        tie_word_embeddings=args.random,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        torch_dtype="float32",
    )
    model = LlamaForCausalLM(config)
    if args.head_std is not None and not args.random:
        with torch.no_grad():
            model.lm_head.weight.normal_(0.0, args.head_std)
    if not args.random:
        steer(model, tokenizer)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    # Older readers look for the template in tokenizer_config.json; newer ones in chat_template.jinja.
    cfg_path = out / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    if "chat_template" not in cfg:
        cfg["chat_template"] = CHAT_TEMPLATE
        cfg_path.write_text(json.dumps(cfg, indent=2))
    if not (out / "chat_template.jinja").exists():
        (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)

    for i, name in enumerate(args.adapter):
        write_adapter(model, out / "adapters" / name, seed=args.seed + i)
    params = sum(p.numel() for p in model.parameters())
    size = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(
        f"make-tiny-model: {out} — {params:,} parameters, vocabulary {len(tokenizer)} from {len(files)} files, "
        f"{size / 1e6:.1f} MB, {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
