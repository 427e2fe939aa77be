"""The TRL run: a LoRA adapter on the base model, SFT or DPO, with progress and before/after checks.

Heavy imports (torch, transformers, trl, peft, datasets) happen here only, so the rest of
proactive-ls runs without the ``train`` extra. Works on a CPU (slowly, for tiny models and tests)
and on one or more GPUs (``accelerate launch -m proactive_ls finetune ...``, docs/training.md).
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proactive_ls.training.data import Dataset
from proactive_ls.training.metrics import pair_accuracy

# Module names vLLM can serve LoRA weights on for Llama/Qwen/Mistral-style models (not lm_head).
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainerMissing(RuntimeError):
    """The ``train`` extra is not installed (the message says how to install it)."""


@dataclass
class Options:
    steps: int | None = None  # optimizer steps; None: `epochs` passes over the training set
    epochs: float = 3.0
    learning_rate: float = 2e-4
    scheduler: str = "linear"  # the learning rate falls to 0 by the last step, so the run ends settled
    rank: int = 16
    alpha: int = 32
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 4096
    beta: float = 0.1  # DPO
    seed: int = 0
    log_every: int = 5
    targets: list[str] = field(default_factory=lambda: list(LORA_TARGETS))


@dataclass
class Result:
    losses: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    before: dict[str, float | None] = field(default_factory=dict)
    after: dict[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0
    steps: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def first_loss(self) -> float | None:
        return self.losses[0][1] if self.losses else None

    @property
    def last_loss(self) -> float | None:
        return self.losses[-1][1] if self.losses else None


def require_trainer() -> None:
    missing = []
    for module in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise TrainerMissing(
            f"fine-tuning needs {', '.join(missing)}: pip install 'proactive-ls[train]' and a torch build "
            "(CPU or CUDA), or use the environment scripts/trainer-env.sh makes"
        )


def versions() -> dict[str, str]:
    import importlib.metadata as md

    return {p: md.version(p) for p in ("torch", "transformers", "trl", "peft", "datasets", "accelerate")}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _callback(result: Result, total: int) -> Any:
    from transformers import TrainerCallback

    class Progress(TrainerCallback):  # type: ignore[misc]
        """One line per logging step: where the run is and how the loss goes."""

        started = time.monotonic()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if not logs or "loss" not in logs or not state.is_world_process_zero:
                return
            loss = float(logs["loss"])
            result.losses.append((int(state.global_step), loss))
            took = time.monotonic() - self.started
            eta = took / max(1, state.global_step) * (total - state.global_step)
            _say(f"finetune: step {state.global_step}/{total}  loss {loss:.4f}  {took:.0f} s, about {eta:.0f} s left")

    return Progress()


def _evaluate(trainer: Any, model: Any, tokenizer: Any, data: Dataset) -> dict[str, float | None]:
    metrics: dict[str, float | None] = {"held_out_loss": None, "held_out_pair_accuracy": None}
    if not data.held_out:
        return metrics
    out = trainer.evaluate()
    loss = out.get("eval_loss")
    metrics["held_out_loss"] = float(loss) if loss is not None and math.isfinite(loss) else None
    if "eval_rewards/accuracies" in out:
        metrics["held_out_reward_accuracy"] = float(out["eval_rewards/accuracies"])
    metrics["held_out_pair_accuracy"] = pair_accuracy(model, tokenizer, data.role, data.method, data.held_out)
    return metrics


def train(data: Dataset, base: Path, out: Path, opts: Options) -> Result:
    """Fine-tune a LoRA adapter of ``base`` on ``data``, write it to ``out``; returns the measurements."""
    require_trainer()
    import datasets
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    result = Result(versions=versions())
    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    dtype = torch.bfloat16 if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    lora = LoraConfig(
        r=opts.rank,
        lora_alpha=opts.alpha,
        lora_dropout=0.0,
        target_modules=opts.targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    columns = ["prompt", "chosen", "rejected"] if data.method == "dpo" else ["prompt", "completion"]
    train_set = datasets.Dataset.from_list([{k: r[k] for k in columns} for r in data.train])
    eval_set = (
        datasets.Dataset.from_list([{k: r[k] for k in columns} for r in data.held_out]) if data.held_out else None
    )
    per_epoch = math.ceil(len(data.train) / (opts.batch_size * opts.grad_accum))
    total = opts.steps or max(1, math.ceil(per_epoch * opts.epochs))
    common: dict[str, Any] = {
        "output_dir": tempfile.mkdtemp(prefix="proactive-ls-finetune-"),
        "max_steps": total,
        "per_device_train_batch_size": opts.batch_size,
        "per_device_eval_batch_size": opts.batch_size,
        "gradient_accumulation_steps": opts.grad_accum,
        "learning_rate": opts.learning_rate,
        "lr_scheduler_type": opts.scheduler,
        "logging_steps": opts.log_every,
        "save_strategy": "no",
        "eval_strategy": "no",
        "report_to": [],
        "seed": opts.seed,
        "bf16": dtype == torch.bfloat16,
        "disable_tqdm": True,  # the Progress callback prints one line per logging step instead
        "max_length": opts.max_length,
    }
    if data.method == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(**common, beta=opts.beta),
            train_dataset=train_set,
            eval_dataset=eval_set,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[_callback(result, total)],
        )
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(**common, completion_only_loss=True),
            train_dataset=train_set,
            eval_dataset=eval_set,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[_callback(result, total)],
        )
    _say(
        f"finetune: {data.role} by {data.method}, {len(data.train)} training rows, {len(data.held_out)} held out, "
        f"{total} steps, LoRA rank {opts.rank} on {', '.join(opts.targets)}"
    )
    result.before = _evaluate(trainer, trainer.model, tokenizer, data)
    trainer.train()
    result.after = _evaluate(trainer, trainer.model, tokenizer, data)
    result.steps = total
    if trainer.is_world_process_zero():
        out.mkdir(parents=True, exist_ok=True)
        trainer.model.save_pretrained(str(out), safe_serialization=True)
    result.seconds = time.monotonic() - started
    return result
