"""Late answers in the feedback log and its export; the kinds the docs list are the enum's."""

from __future__ import annotations

from pathlib import Path

from proactive_ls.control.kinds import ProposalKind, kind_of, kind_of_record
from proactive_ls.feedback.export import ExportStats, export_rows, late_answers, read_records
from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord
from proactive_ls.proposals import OpenLocation, Proposal, Range

REPO = Path(__file__).resolve().parent.parent


def _proposal(pid: str, task: str = "Open the failure of `test_x` at t.py:1") -> Proposal:
    return Proposal(
        id=pid,
        task=task,
        message="It failed. Open it?",
        operation=OpenLocation(uri="file:///t.py", range=Range.line(0)),
        key="terminal:pytest:test_x",
        proposer="local",
        created_at=100.0,
        observations=[{"Time": "2025-11-24 16:00:00", "Event": "The user runs 'pytest'; it fails."}],
        kind="failing_command",
        language="python",
    )


def test_an_ignored_proposal_answered_late_exports_as_the_answer_only(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    log = FeedbackLog(path)
    late, plain = _proposal("late1"), _proposal("plain1", "Open the failure of `test_y` at t.py:2")
    log.append_sync(FeedbackRecord.of(late, "ignored", 220.0))
    log.append_sync(FeedbackRecord.of(plain, "ignored", 220.0))
    log.append_sync(FeedbackRecord.of(late, "accepted", 560.0, late_by_s=340.0))

    records = list(read_records(path, ExportStats()))
    assert [(r.outcome, r.late_by_s, r.kind) for r in records] == [
        ("ignored", None, "failing_command"),
        ("ignored", None, "failing_command"),
        ("accepted", 340.0, "failing_command"),
    ]
    answered = late_answers(read_records(path, ExportStats()))
    assert answered == {"late1"}
    stats = ExportStats()
    rows = list(export_rows(read_records(path, stats), "reward", stats, include_ignored=True, answered_late=answered))
    # One strong positive (the late accept) and one weak negative (the other ignored one).
    assert sorted((row["valid"], row.get("weight", 1.0)) for row in rows) == [(False, 0.3), (True, 1.0)]
    assert stats.answered_late == 1 and "1 ignored, then answered late" in stats.summary()


def test_kinds_come_from_rule_keys_and_old_records_from_their_task() -> None:
    assert kind_of("terminal:pytest:x", "open_location") is ProposalKind.FAILING_COMMAND
    assert kind_of("git-commit:/r:abc", "show_markdown") is ProposalKind.COMMIT_DRAFT
    assert kind_of("anything", "model_task", "vllm") is ProposalKind.MODEL_TASK
    assert kind_of_record(None, "Open the failure of `t` at a.py:1", "open_location", "local") is (
        ProposalKind.FAILING_COMMAND
    )
    assert kind_of_record("syntax_error", "", "", "local") is ProposalKind.SYNTAX_ERROR
    assert kind_of_record("no-such-kind", "", "", "local") is ProposalKind.OTHER


def test_every_kind_is_documented() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for kind in ProposalKind:
        assert f"| `{kind.value}` |" in doc
