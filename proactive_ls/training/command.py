"""`proactive-ls finetune proposer|judge`: options in, a trained adapter and its card out (docs/training.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proactive_ls.config import default_feedback_log
from proactive_ls.feedback.export import ExportError
from proactive_ls.training.data import HELD_OUT_FRACTION, Dataset, Method, Role, from_data_file, from_feedback_log


def _err(text: str) -> None:
    print(f"proactive-ls finetune: {text}", file=sys.stderr)


def load(
    role: str, method: str, feedback_log: Path | None, data: Path | None, held_out: float = HELD_OUT_FRACTION
) -> Dataset:
    if role not in ("proposer", "judge"):
        raise ExportError(f"unknown model {role!r}: expected proposer or judge")
    if method not in ("sft", "dpo"):
        raise ExportError(f"unknown method {method!r}: expected sft or dpo")
    if feedback_log is not None and data is not None:
        raise ExportError("pass --feedback-log or --data, not both")
    r: Role = "judge" if role == "judge" else "proposer"
    m: Method = "dpo" if method == "dpo" else "sft"
    if data is not None:
        return from_data_file(data, r, m, held_out)
    return from_feedback_log(feedback_log or default_feedback_log(), r, m, held_out)


def main_finetune(
    role: str,
    base: Path,
    out: Path,
    feedback_log: Path | None,
    data: Path | None,
    method: str,
    name: str | None,
    steps: int | None,
    epochs: float,
    learning_rate: float,
    rank: int,
    batch_size: int,
    held_out: float,
    lora_targets: str | None,
    argv: list[str],
) -> int:
    from proactive_ls.training.run import LORA_TARGETS, Options, TrainerMissing, require_trainer

    try:
        require_trainer()
        if not (base / "config.json").is_file():
            raise ExportError(f"--base {base}: not a model folder (no config.json); download the model first")
        dataset = load(role, method, feedback_log, data, held_out)
        if not dataset.train:
            raise ExportError(f"no {role} training rows in {dataset.source} ({dataset.stats.summary()})")
    except (ExportError, TrainerMissing) as exc:
        _err(str(exc))
        return 2
    from proactive_ls.training import card
    from proactive_ls.training.run import train

    targets = [t.strip() for t in lora_targets.split(",") if t.strip()] if lora_targets else list(LORA_TARGETS)
    opts = Options(
        steps=steps,
        epochs=epochs,
        learning_rate=learning_rate,
        rank=rank,
        alpha=2 * rank,
        batch_size=batch_size,
        targets=targets,
    )
    adapter_name = name or out.name
    result = train(dataset, base, out, opts)
    info = card.summary(dataset, result, base, out, adapter_name, opts, argv)
    card.write(out, info)
    b, a = result.before, result.after
    print(
        f"finetune: wrote {out} in {result.seconds:.0f} s; training loss {card._fmt(result.first_loss)} -> "
        f"{card._fmt(result.last_loss)}; held-out loss {card._fmt(b.get('held_out_loss'))} -> "
        f"{card._fmt(a.get('held_out_loss'))}, held-out accuracy {card._fmt(b.get('held_out_pair_accuracy'))} -> "
        f"{card._fmt(a.get('held_out_pair_accuracy'))}",
        file=sys.stderr,
    )
    print("Serve it:")
    print(f"  {info['serve']}")
    print("and use it with these settings:")
    print("  " + json.dumps(info["settings"]))
    return 0
