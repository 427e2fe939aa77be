"""`proactive-ls export`: the feedback log as training data (docs/exports.md).

Three formats, one JSON object per line:

* ``reward`` — rows exactly like ProactiveBench's ``reward_data/*.jsonl``
  (``obs``, ``pred_task``, ``valid``, ``help_needed``, ``annotation``, ``category``), for the gate
  (``train_gate``) or any reward model trained on that data;
* ``preference`` — ``{"prompt", "chosen", "rejected"}`` conversational pairs (TRL's explicit-prompt
  preference format) for reward-model or DPO training;
* ``sft`` — ``{"messages": [system, user, assistant]}`` with the accepted proposals as targets.

What a record means: ``accepted`` is a positive judgement of the task at that history and
``rejected`` a negative one; ``ignored`` says little, and is exported as a weak negative only with
``--include-ignored``; ``snoozed`` ("not now", or a snooze that cleared it) judges the moment, not
the task, and ``filtered`` records are the gate's own decisions, not the user's: neither is
exported (the same rules as ``proactive-ls train-gate``).

The export streams: one record in memory at a time, duplicates found with a fixed-size Bloom filter
(4 MiB), a bounded cache of redacted strings and a bounded window of recent histories for pairing.
Every string that leaves the log passes through the secret redactor.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from proactive_ls.config import ModelEndpoint, default_feedback_log
from proactive_ls.feedback.lifecycle import segments
from proactive_ls.feedback.log import FeedbackRecord

log = logging.getLogger(__name__)

FORMATS = ("reward", "preference", "sft")
CORRECT_DETECTION = "Correct-Detection (CD)"
FALSE_ALARM = "False-Alarm (FA)"
WEAK_NEGATIVE_WEIGHT = 0.3  # the weight `train_gate` gives a row; the same value as judges.gate_train
PAIR_WINDOW = 256  # records kept for pairing an accepted and a rejected task on the same history
BLOOM_BITS = 1 << 25  # 4 MiB: ~1e-5 false duplicates at a million records, ~2e-8 at 200,000
BLOOM_HASHES = 7


class ExportError(ValueError):
    """A bad option or a missing log, with a message fit for the user (exit code 2)."""


# -- time bounds ------------------------------------------------------------------------------------


def parse_when(value: str | None, option: str) -> float | None:
    """Unix seconds from ``1764000000``/``1764000000.5`` or ISO 8601 (``2025-11-24``, ``2025-11-24T16:00:00+01:00``).

    A time without a zone is local time, as the user reads a clock.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text).timestamp()
    except ValueError:
        raise ExportError(
            f"{option} {value!r}: expected ISO 8601 (2025-11-24 or 2025-11-24T16:00:00) or unix seconds"
        ) from None


# -- dedup in constant memory ------------------------------------------------------------------------


class BloomFilter:
    """A fixed-size set of digests: `add` says whether the key may have been seen (no false "new")."""

    def __init__(self, bits: int = BLOOM_BITS, hashes: int = BLOOM_HASHES) -> None:
        self.bits = bits
        self.hashes = hashes
        self._array = bytearray(bits // 8)

    def add(self, key: bytes) -> bool:
        """Add `key`; True if it was (probably) there already."""
        digest = hashlib.blake2b(key, digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        seen = True
        array = self._array
        for i in range(self.hashes):
            bit = (h1 + i * h2) % self.bits
            byte, mask = bit >> 3, 1 << (bit & 7)
            if not array[byte] & mask:
                seen = False
                array[byte] |= mask
        return seen


def _digest(obj: Any) -> bytes:
    return hashlib.blake2b(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8"), digest_size=16).digest()


# -- records -> rows ----------------------------------------------------------------------------------


def _steps(observations: list[dict[str, str]], redact: Callable[[str], str]) -> list[dict[str, str]]:
    """The history in the model's format ``{"Time", "Event"}``, redacted."""
    out = []
    for o in observations:
        t = o.get("Time", o.get("time", ""))
        e = o.get("Event", o.get("event", ""))
        out.append({"Time": redact(str(t)), "Event": redact(str(e))})
    return out


def prompt_messages(steps: list[dict[str, str]]) -> list[dict[str, str]]:
    """The proposer's request for this history, built by the proposer's own Transcript.

    So a model trained on the export sees the prompt it will get at inference: the same system
    prompt, the same JSON rendering, the same history budget (the default ``historyTokenBudget``)
    and the same "Earlier" note when old steps are cut. It is the request of a fresh session
    (one user turn); a long session's request also carries the earlier turns.
    """
    from proactive_ls.llm.prompt import StepLog, Transcript

    budget = ModelEndpoint.model_fields["history_token_budget"].default
    transcript = Transcript(budget_tokens=budget, log=StepLog(steps=list(steps)))
    return transcript.messages()


def answer_json(purpose: str, thoughts: str, task: str | None, response: str) -> str:
    """An answer in the released models' format (Purpose, Thoughts, Proactive Task, Response)."""
    from proactive_ls.llm.schema import ModelAnswer

    return ModelAnswer(purpose=purpose, thoughts=thoughts, proactive_task=task, response=response).wire_json()


@dataclass
class Judged:
    """One record, redacted, reduced to what the formats need."""

    record_id: str
    outcome: str
    weak: bool
    steps: list[dict[str, str]]
    task: str
    message: str
    purpose: str
    thoughts: str

    @property
    def positive(self) -> bool:
        return self.outcome == "accepted"

    def task_answer(self) -> str:
        return answer_json(self.purpose, self.thoughts, self.task, self.message)

    def silence_answer(self) -> str:
        return answer_json(self.purpose, "", None, "")


def reward_row(j: Judged) -> dict[str, Any]:
    row: dict[str, Any] = {
        "obs": [{"time": s["Time"], "event": s["Event"]} for s in j.steps],
        "pred_task": j.task,
        "valid": j.positive,
        "help_needed": j.positive,
        "annotation": [j.positive],
        "category": CORRECT_DETECTION if j.positive else FALSE_ALARM,
    }
    if j.weak:
        row["weight"] = WEAK_NEGATIVE_WEIGHT
    return row


def _pair(prompt: list[dict[str, str]], chosen: str, rejected: str) -> dict[str, Any]:
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }


@dataclass
class Pairing:
    """Recent histories and their judged tasks, bounded, to pair an accepted with a rejected task."""

    window: int = PAIR_WINDOW
    recent: OrderedDict[bytes, dict[str, list[Judged]]] = field(default_factory=OrderedDict)

    def pairs(self, j: Judged, prompt: list[dict[str, str]]) -> list[dict[str, Any]]:
        out = [
            _pair(prompt, j.task_answer(), j.silence_answer())
            if j.positive
            else _pair(prompt, j.silence_answer(), j.task_answer())
        ]
        key = _digest(j.steps)
        seen = self.recent.setdefault(key, {"accepted": [], "rejected": []})
        self.recent.move_to_end(key)
        if j.positive:
            out += [
                _pair(prompt, j.task_answer(), other.task_answer())
                for other in seen["rejected"]
                if other.task != j.task
            ]
            seen["accepted"].append(j)
        else:
            out += [
                _pair(prompt, other.task_answer(), j.task_answer())
                for other in seen["accepted"]
                if other.task != j.task
            ]
            seen["rejected"].append(j)
        for bucket in seen.values():
            del bucket[:-8]  # a history judged many times keeps its last few tasks only
        while len(self.recent) > self.window:
            self.recent.popitem(last=False)
        return out


# -- the export ---------------------------------------------------------------------------------------


@dataclass
class ExportStats:
    records: int = 0
    rows: int = 0
    unreadable: int = 0
    filtered: int = 0
    ignored: int = 0
    snoozed: int = 0
    out_of_range: int = 0
    duplicate_ids: int = 0
    duplicate_rows: int = 0
    answered_late: int = 0

    def summary(self) -> str:
        skipped = {
            "gate-filtered": self.filtered,
            "ignored": self.ignored,
            "ignored, then answered late": self.answered_late,
            "snoozed": self.snoozed,
            "outside --since/--until": self.out_of_range,
            "duplicate records": self.duplicate_ids,
            "duplicate rows": self.duplicate_rows,
            "unreadable lines": self.unreadable,
        }
        parts = ", ".join(f"{n} {what}" for what, n in skipped.items() if n)
        return f"{self.rows} rows from {self.records} records" + (f" (skipped: {parts})" if parts else "")


def read_records(
    path: Path, stats: ExportStats, on_bytes: Callable[[int], None] | None = None
) -> Iterator[FeedbackRecord]:
    """Stream a feedback log, one record at a time; lines that do not parse are counted and skipped."""
    pending = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            pending += len(raw)
            if on_bytes is not None and (number & 1023) == 0:
                on_bytes(pending)
                pending = 0
            if not raw.strip():
                continue
            try:
                record = FeedbackRecord.model_validate_json(raw)
            except (ValueError, ValidationError):
                stats.unreadable += 1
                log.warning("%s:%d: skipping a line that is not a feedback record", path, number)
                continue
            stats.records += 1
            yield record
    if on_bytes is not None and pending:
        on_bytes(pending)


def read_all(
    files: list[Path], stats: ExportStats, on_bytes: Callable[[int], None] | None = None
) -> Iterator[FeedbackRecord]:
    """The records of every file of a log (its segments, then the active file), in order."""
    for f in files:
        yield from read_records(f, stats, on_bytes)


def late_answers(records: Iterator[FeedbackRecord]) -> set[str]:
    """The ids of proposals answered after they were recorded ignored or snoozed (one pass, ids only)."""
    return {r.proposal_id for r in records if r.late_by_s is not None}


def export_rows(
    records: Iterator[FeedbackRecord],
    fmt: str,
    stats: ExportStats,
    since: float | None = None,
    until: float | None = None,
    include_ignored: bool = False,
    redact: Callable[[str], str] | None = None,
    answered_late: set[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of format `fmt` for `records`, deduplicated by record id and by content.

    An answer that came after the proposal was recorded ignored or snoozed is a record of its own
    (``late_by_s``) and exports as any answer; the earlier ``ignored`` record of a proposal in
    `answered_late` (see :func:`late_answers`) is then not exported as a weak negative.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if redact is None:
        redact = default_redactor()
    seen_ids, seen_rows = BloomFilter(), BloomFilter()
    pairing = Pairing()
    for record in records:
        if seen_ids.add(b"id:" + record.record_id.encode("utf-8")):
            stats.duplicate_ids += 1
            continue
        if record.outcome == "filtered":
            stats.filtered += 1
            continue
        if record.outcome == "snoozed":
            stats.snoozed += 1
            continue
        weak = record.outcome == "ignored"
        if weak and answered_late and record.proposal_id in answered_late:
            stats.answered_late += 1
            continue
        if weak and not include_ignored:
            stats.ignored += 1
            continue
        if (since is not None and record.decided_at < since) or (until is not None and record.decided_at >= until):
            stats.out_of_range += 1
            continue
        if fmt == "sft" and record.outcome != "accepted":
            continue
        j = Judged(
            record_id=record.record_id,
            outcome="accepted" if record.outcome == "accepted" else "rejected",
            weak=weak,
            steps=_steps(record.observations, redact),
            task=redact(record.task),
            message=redact(record.message),
            purpose=redact(record.purpose or ""),
            thoughts=redact(record.thoughts or ""),
        )
        if fmt == "reward":
            rows = [reward_row(j)]
        else:
            prompt = prompt_messages(j.steps)
            if fmt == "sft":
                rows = [{"messages": [*prompt, {"role": "assistant", "content": j.task_answer()}]}]
            else:
                rows = pairing.pairs(j, prompt)
        for row in rows:
            if seen_rows.add(b"row:" + _digest(row)):
                stats.duplicate_rows += 1
                continue
            stats.rows += 1
            yield row


def default_redactor() -> Callable[[str], str]:
    """Secret redaction with a bounded cache (a history repeats from one record to the next)."""
    from proactive_ls.sensing.redaction import Redactor

    redactor = Redactor(exclude=[], respect_gitignore=False, redact_secrets=True, roots=[])
    return lru_cache(maxsize=4096)(redactor.redact)


def _write_rows(rows: Iterator[dict[str, Any]], out: IO[str]) -> None:
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False))
        out.write("\n")


def main_export(
    format: str,
    feedback_log: Path | None,
    since: str | None,
    until: str | None,
    out: Path | None,
    include_ignored: bool,
) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    err = Console(stderr=True)
    path = Path(feedback_log) if feedback_log else default_feedback_log()
    try:
        if format not in FORMATS:
            raise ExportError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
        lo, hi = parse_when(since, "--since"), parse_when(until, "--until")
        if lo is not None and hi is not None and lo >= hi:
            raise ExportError("--since must be before --until")
        if not segments(path):
            raise ExportError(f"no feedback log at {path} (answer some proposals first, or pass --feedback-log)")
    except ExportError as exc:
        print(f"proactive-ls export: {exc}", file=sys.stderr)
        return 2
    stats = ExportStats()
    progress = Progress(
        TextColumn("[bold]export[/bold] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    tmp_name: str | None = None
    try:
        with progress:
            files = segments(path)  # rotated segments first, then the active file
            bar = progress.add_task(f"{format} from {path.name}", total=sum(f.stat().st_size for f in files))
            late = late_answers(read_all(files, ExportStats())) if include_ignored else None
            records = read_all(files, stats, lambda n: progress.advance(bar, n))
            rows = export_rows(records, format, stats, lo, hi, include_ignored, answered_late=late)
            if out is None:
                _write_rows(rows, sys.stdout)
                sys.stdout.flush()
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    _write_rows(rows, f)
                os.replace(tmp_name, out)
                tmp_name = None
    except BrokenPipeError:
        raise  # the reader closed the pipe (`| head`): the command line stops quietly
    except OSError as exc:
        print(f"proactive-ls export: {exc}", file=sys.stderr)
        return 1
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    err.print(f"exported {stats.summary()}" + (f" to {out}" if out else ""), highlight=False)
    return 0


__all__ = [
    "FORMATS",
    "BloomFilter",
    "ExportError",
    "ExportStats",
    "export_rows",
    "late_answers",
    "main_export",
    "parse_when",
    "prompt_messages",
    "read_records",
    "reward_row",
]
