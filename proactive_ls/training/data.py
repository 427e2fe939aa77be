"""Training sets for the proposer and the judge, from the feedback log, as the server prompts at inference.

Rows come from :mod:`proactive_ls.feedback.export` (same filters, deduplication and redaction as
``proactive-ls export``), and every prompt is built by the code the server sends requests with:
the proposer's :class:`~proactive_ls.llm.prompt.Transcript` (through ``prompt_messages``) and the
judge's :class:`~proactive_ls.llm.prompt.JudgeWindow`. So training sees the request the model gets.

Targets are compact JSON (no spaces after ``:`` and ``,``): the server asks vLLM for structured
output without free whitespace (``scripts/serve-vllm.sh``), so that is what the model is made to
write at inference; training on spaced JSON would teach it tokens it is never allowed to emit.

The held-out set is the newest part of the log (a split by time, as the model will be used on what
comes after its data), never a random shuffle that would leak a session into both sides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from proactive_ls.config import ModelEndpoint
from proactive_ls.feedback.export import ExportError, ExportStats, export_rows, read_records
from proactive_ls.feedback.log import FeedbackRecord

Role = Literal["proposer", "judge"]
Method = Literal["sft", "dpo"]
HELD_OUT_FRACTION = 0.2


def compact(answer: str) -> str:
    """An answer as structured output makes the model write it: JSON without free whitespace."""
    return json.dumps(json.loads(answer), ensure_ascii=False, separators=(",", ":"))


def judge_messages(steps: list[dict[str, str]], task: str | None) -> list[dict[str, str]]:
    """The judge's request for this history and task, built by the judge's own JudgeWindow."""
    from proactive_ls.llm.prompt import JudgeWindow, StepLog

    budget = ModelEndpoint.model_fields["history_token_budget"].default
    window = JudgeWindow(budget_tokens=budget, log=StepLog(steps=list(steps)))
    return window.messages([], task)


def judge_answer(accepted: bool, thought: str = "") -> str:
    """The reward model's answer, compact. The log records no reason of the user's, so no thought is made up."""
    return json.dumps({"thought": thought, "judgement": "accepted" if accepted else "rejected"}, separators=(",", ":"))


@dataclass
class Dataset:
    """Rows for TRL, oldest first, split by time into train and held-out."""

    role: Role
    method: Method
    train: list[dict[str, Any]] = field(default_factory=list)
    held_out: list[dict[str, Any]] = field(default_factory=list)
    stats: ExportStats = field(default_factory=ExportStats)
    source: str = ""

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "held_out": len(self.held_out), "log_records": self.stats.records}


def split_by_time(rows: list[dict[str, Any]], fraction: float = HELD_OUT_FRACTION) -> tuple[list[Any], list[Any]]:
    """The oldest rows train, the newest ``fraction`` (at least one when there are two or more) are held out."""
    if len(rows) < 2 or fraction <= 0:
        return rows, []
    n = min(len(rows) - 1, max(1, round(len(rows) * fraction)))
    return rows[: len(rows) - n], rows[len(rows) - n :]


def _records_by_time(path: Path, stats: ExportStats) -> list[FeedbackRecord]:
    records = list(read_records(path, stats))
    records.sort(key=lambda r: r.decided_at)  # a log is appended in order; logs merged by hand may not be
    return records


def _proposer_rows(records: Iterable[FeedbackRecord], method: Method, stats: ExportStats) -> Iterator[dict[str, Any]]:
    if method == "sft":
        for row in export_rows(iter(records), "sft", stats):
            *prompt, answer = row["messages"]
            yield {"prompt": prompt, "completion": [{"role": "assistant", "content": compact(answer["content"])}]}
    else:
        for row in export_rows(iter(records), "preference", stats):
            yield {
                "prompt": row["prompt"],
                "chosen": [{"role": "assistant", "content": compact(row["chosen"][0]["content"])}],
                "rejected": [{"role": "assistant", "content": compact(row["rejected"][0]["content"])}],
            }


def _judge_rows(records: Iterable[FeedbackRecord], stats: ExportStats) -> Iterator[dict[str, Any]]:
    # The reward export carries the filters and the redaction; its rows hold what the judge sees.
    for row in export_rows(iter(records), "reward", stats):
        steps = [{"Time": o["time"], "Event": o["event"]} for o in row["obs"]]
        yield {
            "prompt": judge_messages(steps, row["pred_task"]),
            "completion": [{"role": "assistant", "content": judge_answer(bool(row["valid"]))}],
            "accepted": bool(row["valid"]),
        }


def from_feedback_log(path: Path, role: Role, method: Method, held_out_fraction: float = HELD_OUT_FRACTION) -> Dataset:
    """The training set of ``role`` from a feedback log, split by the time of the user's answer."""
    if not path.is_file():
        raise ExportError(f"no feedback log at {path} (answer some proposals first, or pass --feedback-log)")
    if role == "judge" and method != "sft":
        raise ExportError("the judge is trained with --method sft (DPO is for the proposer)")
    stats = ExportStats()
    records = _records_by_time(path, stats)
    rows = list(_judge_rows(records, stats) if role == "judge" else _proposer_rows(records, method, stats))
    train, held_out = split_by_time(rows, held_out_fraction)
    return Dataset(role, method, train, held_out, stats, source=str(path))


def from_data_file(path: Path, role: Role, method: Method, held_out_fraction: float = HELD_OUT_FRACTION) -> Dataset:
    """Rows already in TRL's format (``proactive-ls export``'s sft/preference, or this module's), in file order."""
    if not path.is_file():
        raise ExportError(f"no data file at {path}")
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ExportError(f"{path}:{number}: not JSON ({exc})") from None
            rows.append(normalise_row(row, method, f"{path}:{number}"))
    if not rows:
        raise ExportError(f"{path} holds no rows")
    train, held_out = split_by_time(rows, held_out_fraction)
    return Dataset(role, method, train, held_out, source=str(path))


def normalise_row(row: Any, method: Method, where: str) -> dict[str, Any]:
    """Accept export's ``{"messages": [...]}`` as prompt/completion; check the keys TRL needs."""
    if not isinstance(row, dict):
        raise ExportError(f"{where}: expected a JSON object")
    if method == "sft":
        if "messages" in row and "prompt" not in row:
            messages = row["messages"]
            if not isinstance(messages, list) or len(messages) < 2 or messages[-1].get("role") != "assistant":
                raise ExportError(f"{where}: 'messages' must end with the assistant's answer")
            content = messages[-1]["content"]
            return {"prompt": messages[:-1], "completion": [{"role": "assistant", "content": _compact_or(content)}]}
        missing = {"prompt", "completion"} - row.keys()
    else:
        missing = {"prompt", "chosen", "rejected"} - row.keys()
    if missing:
        raise ExportError(f"{where}: missing {', '.join(sorted(missing))} for --method {method}")
    return row


def _compact_or(text: str) -> str:
    try:
        return compact(text)
    except ValueError:
        return text


def write_jsonl(rows: Iterable[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
