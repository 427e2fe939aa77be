"""The fine-tuning sets (proactive_ls/training/data.py): built from a real feedback log with the server's
own prompt code, split by time, answers as structured output writes them; and the command's errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from proactive_ls.feedback.export import prompt_messages
from proactive_ls.llm.prompt import JudgeWindow, StepLog
from proactive_ls.training.data import compact, from_data_file, from_feedback_log, split_by_time
from proactive_ls.training.metrics import pairs
from tests.finetune_logs import ACCEPTED_TASK, REJECTED_TASK, history, write_judge_log, write_log


def test_proposer_rows_use_the_servers_prompt_and_compact_answers(tmp_path: Path) -> None:
    log = write_log(tmp_path / "feedback.jsonl", 10)
    data = from_feedback_log(log, "proposer", "sft")
    assert (len(data.train), len(data.held_out)) == (8, 2)
    first = data.train[0]
    assert first["prompt"] == prompt_messages(history(0))
    answer = first["completion"][0]["content"]
    assert (
        ": " not in answer
        and ", " not in answer.replace(ACCEPTED_TASK, "")
        and json.loads(answer)["Proactive Task"] == ACCEPTED_TASK
    )
    # The held-out rows are the newest: the last two histories of the log.
    assert [r["prompt"] for r in data.held_out] == [prompt_messages(history(8)), prompt_messages(history(9))]


def test_judge_rows_use_the_judge_window_and_both_outcomes(tmp_path: Path) -> None:
    log = write_log(tmp_path / "feedback.jsonl", 5, rejected=True)
    data = from_feedback_log(log, "judge", "sft")
    rows = data.train + data.held_out
    assert len(rows) == 10
    window = JudgeWindow(budget_tokens=1536, log=StepLog(steps=history(0)))
    assert rows[0]["prompt"] == window.messages([], ACCEPTED_TASK)
    judgements = {(r["prompt"][1]["content"].count(REJECTED_TASK) > 0, r["accepted"]) for r in rows}
    assert judgements == {(False, True), (True, False)}
    assert rows[1]["completion"][0]["content"] == '{"thought":"","judgement":"rejected"}'
    # Held-out pairs: the user's judgement against the opposite one.
    (prompt, good, bad), *_ = pairs("judge", "sft", data.held_out)
    assert good != bad and {json.loads(good)["judgement"], json.loads(bad)["judgement"]} == {"accepted", "rejected"}


def test_a_judge_log_of_two_kinds_labels_each_kind_and_holds_out_both(tmp_path: Path) -> None:
    """The log of the judge experiments (docs/training.md): test failures accepted, build failures rejected."""
    data = from_feedback_log(write_judge_log(tmp_path / "feedback.jsonl", 15), "judge", "sft")
    assert (len(data.train), len(data.held_out)) == (24, 6)

    def kinds(rows: list[dict[str, object]]) -> set[tuple[bool, bool]]:
        return {("'make build'" in r["prompt"][1]["content"], bool(r["accepted"])) for r in rows}  # type: ignore[index]

    assert kinds(data.train) == kinds(data.held_out) == {(False, True), (True, False)}


def test_dpo_rows_pair_accepted_over_silence_and_silence_over_rejected(tmp_path: Path) -> None:
    log = write_log(tmp_path / "feedback.jsonl", 4, rejected=True)
    data = from_feedback_log(log, "proposer", "dpo", held_out_fraction=0)
    kinds = set()
    for row in data.train:
        chosen = json.loads(row["chosen"][0]["content"])["Proactive Task"]
        rejected = json.loads(row["rejected"][0]["content"])["Proactive Task"]
        kinds.add((chosen, rejected))
    assert kinds == {(ACCEPTED_TASK, None), (None, REJECTED_TASK), (ACCEPTED_TASK, REJECTED_TASK)}


def test_split_by_time_keeps_the_newest_apart() -> None:
    assert split_by_time([1]) == ([1], [])
    assert split_by_time(list(range(10))) == (list(range(8)), [8, 9])
    assert split_by_time([1, 2], 0.2) == ([1], [2])


def test_data_file_accepts_the_sft_export(tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": '{"a": 1}'}]}] * 3
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = from_data_file(path, "proposer", "sft")
    assert data.train[0] == {
        "prompt": [{"role": "user", "content": "x"}],
        "completion": [{"role": "assistant", "content": compact('{"a": 1}')}],
    }


def _finetune(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proactive_ls", "finetune", *args], capture_output=True, text=True, timeout=120
    )


def test_finetune_says_what_is_missing(tmp_path: Path) -> None:
    try:
        import trl  # noqa: F401
    except ImportError:
        proc = _finetune("proposer", "--base", str(tmp_path), "--out", str(tmp_path / "out"))
        assert proc.returncode == 2 and "proactive-ls[train]" in proc.stderr
        return
    proc = _finetune("proposer", "--base", str(tmp_path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "not a model folder" in proc.stderr
    (tmp_path / "config.json").write_text("{}")
    proc = _finetune(
        "judge",
        "--base",
        str(tmp_path),
        "--out",
        str(tmp_path / "o"),
        "--method",
        "dpo",
        "--feedback-log",
        str(write_log(tmp_path / "f.jsonl", 3)),
    )
    assert proc.returncode == 2 and "--method sft" in proc.stderr


@pytest.mark.parametrize("bad", ["nope", "critic"])
def test_finetune_rejects_an_unknown_model(tmp_path: Path, bad: str) -> None:
    proc = _finetune(bad, "--base", str(tmp_path), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
