"""The feedback log survives crashes: torn lines are skipped and never corrupt the next record."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord, iter_records


def record(n: int, outcome: str = "accepted") -> FeedbackRecord:
    return FeedbackRecord(
        proposal_id=f"p{n}",
        outcome=outcome,
        proposed_at=1.0 + n,
        decided_at=2.0 + n,
        task=f"task {n}",
        message="m",
        operation="open_location",
        proposer="local",
        observations=[{"Time": "2026-01-01 00:00:00", "Event": "The user saves 'a.py'."}],
    )


def test_append_and_read_back(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "sub" / "log.jsonl")
    for n in range(3):
        log.append_sync(record(n))
    got = list(iter_records(log.path))
    assert [r.proposal_id for r in got] == ["p0", "p1", "p2"]
    assert got[0].observations[0]["Event"] == "The user saves 'a.py'."
    assert oct(os.stat(log.path).st_mode & 0o777) == "0o600"  # the history is private


def test_a_torn_last_line_is_skipped_and_the_next_record_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = FeedbackLog(path)
    log.append_sync(record(0))
    full = record(1).model_dump_json()
    with open(path, "a") as f:
        f.write(full[: len(full) // 2])  # the process died mid-write
    assert [r.proposal_id for r in iter_records(path)] == ["p0"]
    log.append_sync(record(2))
    assert [r.proposal_id for r in iter_records(path)] == ["p0", "p2"]
    with pytest.raises(ValueError, match=r"log.jsonl:2"):
        list(iter_records(path, strict=True))


def _kill_mid_write(path: str) -> None:
    log = FeedbackLog(Path(path))
    big = record(99)
    big.message = "x" * 5_000_000
    os.write(1, b"")
    log.append_sync(big)


def test_a_process_killed_while_writing_leaves_a_readable_log(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    FeedbackLog(path).append_sync(record(0))
    proc = multiprocessing.get_context("spawn").Process(target=_kill_mid_write, args=(str(path),))
    proc.start()
    # Kill it as soon as the big record has started to land.
    while proc.is_alive() and path.stat().st_size < 100_000:
        pass
    proc.kill()
    proc.join()
    records = list(iter_records(path))
    assert records[0].proposal_id == "p0"
    assert len(records) in (1, 2)  # the big one is either whole or skipped, never half-read
    FeedbackLog(path).append_sync(record(3))
    assert list(iter_records(path))[-1].proposal_id == "p3"


def test_records_are_json_lines_with_the_documented_fields(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    FeedbackLog(path).append_sync(record(0, "rejected"))
    data = json.loads(path.read_text().splitlines()[0])
    for key in (
        "schema_version",
        "record_id",
        "proposal_id",
        "outcome",
        "proposed_at",
        "decided_at",
        "task",
        "message",
        "observations",
        "proposer",
        "model",
        "judge",
        "judge_score",
        "operation",
    ):
        assert key in data
