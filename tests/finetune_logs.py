"""Feedback logs with a clear taste, written as the server writes them, for the fine-tuning tests."""

from __future__ import annotations

from pathlib import Path

from proactive_ls.feedback.log import FeedbackRecord

ACCEPTED_TASK = "Fix add in calc.py"
REJECTED_TASK = "Write a changelog entry"


def history(i: int) -> list[dict[str, str]]:
    """A short history like the server's: the user edits calc.py and a test fails."""
    minute = i % 60
    return [
        {"Time": f"2025-03-0{1 + i % 9} 10:{minute:02d}:00", "Event": "The user opens calc.py."},
        {"Time": f"2025-03-0{1 + i % 9} 10:{minute:02d}:20", "Event": f"The user edits add in calc.py (change {i})."},
        {
            "Time": f"2025-03-0{1 + i % 9} 10:{minute:02d}:40",
            "Event": f"The user runs `python -m pytest -k case{i}`: 1 failed (test_case{i}).",
        },
    ]


def record(i: int, task: str, outcome: str, at: float, *, purpose: str = "", thoughts: str = "") -> FeedbackRecord:
    """A model's proposal as the server logs it (an empty Response shows the task as the message)."""
    return FeedbackRecord(
        session_id=f"s{i % 3}",
        proposal_id=f"p{i}-{outcome}",
        outcome=outcome,  # type: ignore[arg-type]
        proposed_at=at - 5,
        decided_at=at,
        task=task,
        message=task,
        purpose=purpose,
        thoughts=thoughts,
        operation="model_task",
        observations=history(i),
        proposer="vllm",
        model="tiny-proactive",
    )


def write_log(
    path: Path, n: int, *, rejected: bool = False, accepted: str = ACCEPTED_TASK, start: float = 1_740_000_000.0
) -> Path:
    """``n`` histories; on each the user accepted ``accepted`` (and, with ``rejected``, rejected REJECTED_TASK).

    The proposals have no purpose or thoughts and the task as the message: each value of the answer is
    in one place, which the tiny model learns in a few dozen steps (docs/training.md says why it matters).
    """
    lines = []
    for i in range(n):
        at = start + 60 * i
        lines.append(record(i, accepted, "accepted", at).model_dump_json())
        if rejected:
            lines.append(record(i, REJECTED_TASK, "rejected", at + 1).model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


TEST_FAILURES = ["1 test failed", "2 tests failed", "3 tests failed", "1 test failed, 4 passed", "5 tests failed"]
BUILD_ERRORS = [
    ("calc.c", 3, "expected ';'"),
    ("main.c", 12, "'x' undeclared"),
    ("io.c", 7, "implicit declaration of function 'readx'"),
    ("util.c", 21, "expected ')'"),
    ("calc.c", 9, "conflicting types for 'add'"),
]


def judged_record(i: int, kind: str, outcome: str, at: float) -> FeedbackRecord:
    """A proposal of the embedded rules after a failed command, as the server logs it (event texts included)."""
    opened = {"Time": f"2025-03-0{1 + i % 9} 10:{i % 60:02d}:00", "Event": "The user opens 'calc.py' (2 lines)."}
    when = f"2025-03-0{1 + i % 9} 10:{i % 60:02d}:20"
    if kind == "test":
        what = TEST_FAILURES[i % len(TEST_FAILURES)]
        ran = f"The user ran 'python -m pytest' in the terminal; {what}."
        task = f"Look at the failure of `{what}`"
    else:
        name, line, error = BUILD_ERRORS[i % len(BUILD_ERRORS)]
        failed = f"the build failed with 1 error in '{name}' (at line {line}: {error})"
        ran = f"The user ran 'make build' in the terminal; {failed}."
        task = f"Look at the failure of `{error}`"
    rec = record(i, task, outcome, at)
    return rec.model_copy(
        update={"observations": [opened, {"Time": when, "Event": ran}], "proposer": "local", "model": None}
    )


def write_judge_log(path: Path, n: int, *, start: float = 1_740_000_000.0) -> Path:
    """``n`` test failures whose proposal the user accepted and ``n`` build failures whose proposal they rejected."""
    lines = []
    for i in range(n):
        at = start + 60 * i
        lines.append(judged_record(i, "test", "accepted", at).model_dump_json())
        lines.append(judged_record(i, "build", "rejected", at + 1).model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path
