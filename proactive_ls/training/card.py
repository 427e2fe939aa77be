"""What a fine-tune did, written next to its adapter: README.md (a model card) and training.json."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from proactive_ls.training.data import Dataset
from proactive_ls.training.run import Options, Result


def serve_line(base: Path, name: str, adapter: Path) -> str:
    return f"scripts/serve-vllm.sh --model {shlex.quote(str(base))} --lora {shlex.quote(f'{name}={adapter}')}"


def settings_for(role: str, name: str, url: str = "http://127.0.0.1:8000/v1") -> dict[str, Any]:
    """The proactive-ls settings that use the served adapter (docs/configuration.md)."""
    endpoint = {"url": url, "name": name}
    if role == "judge":
        return {"judge": "vllm", "judgeModel": endpoint}
    return {"backend": "vllm", "model": endpoint}


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.4f}"


def summary(
    data: Dataset, result: Result, base: Path, out: Path, name: str, opts: Options, command: list[str]
) -> dict[str, Any]:
    return {
        "role": data.role,
        "method": data.method,
        "name": name,
        "base_model": str(base),
        "adapter": str(out),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(command),
        "data": {"source": data.source, **data.counts(), "split": "by time: the newest rows are held out"},
        "held_out_before": result.before,
        "held_out_after": result.after,
        "training_loss": {"first": result.first_loss, "last": result.last_loss, "log": result.losses},
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "lora": {"rank": opts.rank, "alpha": opts.alpha, "targets": opts.targets},
        "learning_rate": opts.learning_rate,
        "versions": result.versions,
        "serve": serve_line(base, name, out),
        "settings": settings_for(data.role, name),
    }


def write(out: Path, info: dict[str, Any]) -> None:
    (out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    before, after = info["held_out_before"], info["held_out_after"]
    metric = (
        "judge accuracy"
        if info["role"] == "judge"
        else ("chosen over rejected" if info["method"] == "dpo" else "accepted task over silence")
    )
    rows = [
        f"| held-out loss | {_fmt(before.get('held_out_loss'))} | {_fmt(after.get('held_out_loss'))} |",
        f"| held-out {metric} | {_fmt(before.get('held_out_pair_accuracy'))} |"
        f" {_fmt(after.get('held_out_pair_accuracy'))} |",
    ]
    if "held_out_reward_accuracy" in after:
        rows.append(
            f"| held-out DPO reward accuracy | {_fmt(before.get('held_out_reward_accuracy'))} |"
            f" {_fmt(after.get('held_out_reward_accuracy'))} |"
        )
    d = info["data"]
    text = f"""---
base_model: {info["base_model"]}
library_name: peft
tags: [proactive-ls, lora, {info["method"]}, {info["role"]}]
---

# {info["name"]}: the proactive-ls {info["role"]}, fine-tuned by {info["method"].upper()}

LoRA adapter (rank {info["lora"]["rank"]}, alpha {info["lora"]["alpha"]}, on {", ".join(info["lora"]["targets"])})
of `{info["base_model"]}`, trained {info["date"]} by proactive-ls `finetune` from `{d["source"]}`.

- Data: {d["train"]} training rows, {d["held_out"]} held out ({d["split"]}); {d["log_records"]} log records read.
- Training: {info["steps"]} steps at learning rate {info["learning_rate"]} in {info["seconds"]} s; loss
  {_fmt(info["training_loss"]["first"])} at the first logged step, {_fmt(info["training_loss"]["last"])} at the last.
- Prompts: built by the server's own prompt code (proactive_ls/llm/prompt.py), answers as compact JSON.

| held out | before | after |
| --- | --- | --- |
{chr(10).join(rows)}

"Before" is the base model (the adapter at its initialisation, which changes nothing); the
accuracy is the share of held-out rows where the right answer is more likely than the wrong one.

## Serve it

```
{info["serve"]}
```

Settings:

```json
{json.dumps(info["settings"], indent=2)}
```

## Command

```
{info["command"]}
```

Versions: {", ".join(f"{k} {v}" for k, v in info["versions"].items())}.
"""
    (out / "README.md").write_text(text)
