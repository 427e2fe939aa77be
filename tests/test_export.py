"""`proactive-ls export`: a feedback log written by a real server session, exported to each format."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
import tracemalloc
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from proactive_ls.events import Observation
from proactive_ls.feedback.export import ExportStats, export_rows, main_export, prompt_messages, read_records
from proactive_ls.judges.gate_retrain import main_train_gate
from proactive_ls.judges.gate_train import feedback_rows, load_reward_rows, train_gate
from proactive_ls.llm.prompt import SYSTEM_PROMPT, Transcript
from proactive_ls.llm.schema import parse_answer
from proactive_ls.lsp import protocol
from tests.conftest import EXAMPLES, SHARED, run_pytest
from tests.lsp_client import eventually, read_log, start_session

PROACTIVEBENCH_KEYS = {"obs", "pred_task", "valid", "help_needed", "annotation", "category"}
SECRET = "ghp_" + "Ab1" * 12


def _failing(project: Path, name: str, body: str) -> tuple[int, str]:
    (project / "tests" / "test_calc.py").write_text(f"def {name}():\n    {body}\n")
    code, output = run_pytest(project)
    assert code == 1, output
    return code, output


async def _session(project: Path, log: Path) -> list[str]:
    """Accept one proposal, reject another, leave a third unanswered until it is recorded as ignored."""
    client = await start_session(project, log, settings={"ignoreAfterS": 1.5})
    notify = lambda code, out: client.protocol.notify(  # noqa: E731
        protocol.TERMINAL_COMMAND,
        {"commandLine": "python -m pytest", "cwd": str(project), "exitCode": code, "output": out},
    )
    try:
        code, output = run_pytest(project)
        notify(code, output)
        first = await client.next_proposal()
        await client.execute(protocol.COMMAND_ACCEPT, first["id"])
        notify(*_failing(project, "test_other", "assert 1 == 2"))
        second = await client.next_proposal()
        await client.execute(protocol.COMMAND_REJECT, second["id"])
        notify(*_failing(project, "test_third", "assert 2 == 3"))
        third = await client.next_proposal()
        await eventually(lambda: len(read_log(log)) == 3, timeout=15)
        return [first["task"], second["task"], third["task"]]
    finally:
        await client.shutdown_session()


@pytest.fixture(scope="module")
def real_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("export")
    project = root / "project"
    shutil.copytree(EXAMPLES / "failing-test" / "workspace", project)
    log = root / "feedback.jsonl"
    tasks = asyncio.run(_session(project, log))
    assert [r["outcome"] for r in read_log(log)] == ["accepted", "rejected", "ignored"]
    return log, tasks


def export(log: Path, fmt: str, **options: Any) -> tuple[list[dict], ExportStats]:
    stats = ExportStats()
    rows = list(export_rows(read_records(log, stats), fmt, stats, **options))
    return rows, stats


def test_reward_rows_are_proactivebench_rows(real_log: tuple[Path, list[str]]) -> None:
    log, tasks = real_log
    rows, stats = export(log, "reward")
    assert [(r["pred_task"], r["valid"], r["category"]) for r in rows] == [
        (tasks[0], True, "Correct-Detection (CD)"),
        (tasks[1], False, "False-Alarm (FA)"),
    ]
    assert all(set(r) == PROACTIVEBENCH_KEYS for r in rows)
    assert [r["annotation"] for r in rows] == [[True], [False]] and [r["help_needed"] for r in rows] == [True, False]
    assert all(set(o) == {"time", "event"} for r in rows for o in r["obs"])
    assert rows[0]["obs"][-1]["event"].startswith("The user ran 'python -m pytest' in the terminal; 2 tests failed")
    assert stats.ignored == 1 and stats.rows == 2
    # The gate's own reading of the log agrees on what is a positive and what a negative.
    theirs, _ = feedback_rows(log)
    assert [(r["pred_task"], r["valid"]) for r in theirs] == [(r["pred_task"], r["valid"]) for r in rows]

    weak, _ = export(log, "reward", include_ignored=True)
    assert len(weak) == 3 and weak[2]["pred_task"] == tasks[2]
    assert weak[2]["valid"] is False and weak[2]["weight"] == 0.3 and set(weak[2]) == PROACTIVEBENCH_KEYS | {"weight"}


def test_the_reward_export_trains_the_gate(real_log: tuple[Path, list[str]], tmp_path: Path) -> None:
    log, tasks = real_log
    folder = tmp_path / "bench" / "reward_data"
    folder.mkdir(parents=True)
    out = folder / "train_data.jsonl"
    assert main_export("reward", log, None, None, out, True) == 0
    rows = load_reward_rows(out)  # the loader of ProactiveBench's own files
    gate = train_gate(rows)
    accepted, rejected = rows[0], rows[1]
    assert gate.score(accepted["obs"], accepted["pred_task"]) > gate.score(rejected["obs"], rejected["pred_task"])
    # And through `train-gate`, which reads it where it reads ProactiveBench's reward data.
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    model = tmp_path / "gate.json"
    assert main_train_gate(empty, tmp_path / "bench", model, False) == 2  # 3 rows: too few
    assert main_train_gate(empty, tmp_path / "bench", model, False, force=True) == 0
    assert json.loads(model.read_text())["meta"]["sources"]["proactivebench_rows"] == 3
    if (SHARED / "reward_data" / "train_data.jsonl").is_file():
        both = train_gate(rows + load_reward_rows(SHARED / "reward_data" / "train_data.jsonl"))
        assert both.meta["trained_on"]["rows"] == 3 + 1629


def _answer(message: list[dict[str, str]]) -> dict[str, Any]:
    [m] = message
    assert m["role"] == "assistant"
    return parse_answer(m["content"]).wire()


def test_preference_pairs(real_log: tuple[Path, list[str]], tmp_path: Path) -> None:
    log, tasks = real_log
    rows, _ = export(log, "preference")
    assert len(rows) == 2 and all(set(r) == {"prompt", "chosen", "rejected"} for r in rows)
    accepted, rejected = rows
    assert [m["role"] for m in accepted["prompt"]] == ["system", "user"] and accepted["prompt"][0][
        "content"
    ] == SYSTEM_PROMPT
    assert (
        _answer(accepted["chosen"])["Proactive Task"] == tasks[0]
        and _answer(accepted["rejected"])["Proactive Task"] is None
    )
    assert (
        _answer(rejected["chosen"])["Proactive Task"] is None
        and _answer(rejected["rejected"])["Proactive Task"] == tasks[1]
    )

    # Two tasks judged on the same history: the accepted one is preferred to the rejected one.
    records = read_log(log)
    other = {**records[0], "record_id": uuid.uuid4().hex, "outcome": "rejected", "task": "Explain pytest fixtures"}
    paired = tmp_path / "paired.jsonl"
    paired.write_text("".join(json.dumps(r) + "\n" for r in [records[0], other]))
    rows, _ = export(paired, "preference")
    kinds = [(_answer(r["chosen"])["Proactive Task"], _answer(r["rejected"])["Proactive Task"]) for r in rows]
    assert kinds == [(tasks[0], None), (None, "Explain pytest fixtures"), (tasks[0], "Explain pytest fixtures")]


def test_sft_targets_are_the_accepted_proposals_in_the_inference_prompt(real_log: tuple[Path, list[str]]) -> None:
    log, tasks = real_log
    rows, _ = export(log, "sft")
    [row] = rows
    system, user, assistant = row["messages"]
    assert (system["role"], user["role"], assistant["role"]) == ("system", "user", "assistant")
    answer = parse_answer(assistant["content"])
    record = read_log(log)[0]
    assert (
        answer.proactive_task == tasks[0]
        and answer.response == record["message"]
        and answer.purpose == record["purpose"]
    )
    # The prompt is the one the model proposer sends for these events.
    events = [
        Observation(time=datetime.strptime(o["Time"], "%Y-%m-%d %H:%M:%S").timestamp(), text=o["Event"])
        for o in record["observations"]
    ]
    transcript = Transcript(budget_tokens=1536)
    transcript.sync(events)
    assert [system, user] == transcript.messages()


def test_a_long_history_is_cut_as_the_proposer_cuts_it() -> None:
    steps = [
        {
            "Time": f"2025-11-24 10:{i // 60:02d}:{i % 60:02d}",
            "Event": f"The user edits 'a{i}.py' around line {i} (1 line changed).",
        }
        for i in range(400)
    ]
    messages = prompt_messages(steps)
    body = json.loads(messages[-1]["content"])
    assert "Earlier" in body and 0 < len(body["Observations"]) < 400 and body["Observations"][-1] == steps[-1]


def test_duplicates_filtered_records_and_time_bounds(real_log: tuple[Path, list[str]], tmp_path: Path) -> None:
    log, _ = real_log
    records = read_log(log)
    same_content = {**records[0], "record_id": uuid.uuid4().hex}  # written twice, e.g. two logs merged
    filtered = {**records[1], "record_id": uuid.uuid4().hex, "outcome": "filtered", "task": "Never shown"}
    merged = tmp_path / "merged.jsonl"
    merged.write_text("".join(json.dumps(r) + "\n" for r in [*records, *records, same_content, filtered]) + '{"torn": ')
    rows, stats = export(merged, "reward")
    assert len(rows) == 2
    assert (stats.duplicate_ids, stats.duplicate_rows, stats.filtered, stats.unreadable) == (3, 1, 1, 1)

    accepted_at, rejected_at = records[0]["decided_at"], records[1]["decided_at"]
    rows, _ = export(log, "reward", since=accepted_at + 1e-3)
    assert [r["valid"] for r in rows] == [False]
    rows, _ = export(log, "reward", until=rejected_at)
    assert [r["valid"] for r in rows] == [True]
    out = tmp_path / "bounded.jsonl"
    iso = datetime.fromtimestamp((accepted_at + rejected_at) / 2).isoformat()  # local time, no zone
    assert main_export("reward", log, str(accepted_at), iso, out, False) == 0
    assert [json.loads(line)["valid"] for line in out.read_text().splitlines()] == [True]


def test_every_string_is_redacted(real_log: tuple[Path, list[str]], tmp_path: Path) -> None:
    log, _ = real_log
    record = read_log(log)[0]
    leaky = {
        **record,
        "record_id": uuid.uuid4().hex,
        "task": f"Rotate the token {SECRET}",
        "message": f"password = 'sw0rdfish-{SECRET[-6:]}' leaked; token={SECRET}",
        "thoughts": f"Authorization: Bearer {SECRET}",
        "observations": [
            *record["observations"],
            {"Time": "2025-11-24 16:00:00", "Event": f"The user ran 'export GITHUB_TOKEN={SECRET}' in the terminal."},
        ],
    }
    path = tmp_path / "leaky.jsonl"
    path.write_text(json.dumps(leaky) + "\n")
    for fmt in ("reward", "preference", "sft"):
        out = tmp_path / f"{fmt}.jsonl"
        assert main_export(fmt, path, None, None, out, False) == 0
        text = out.read_text()
        assert text.strip() and SECRET not in text and "sw0rdfish" not in text and "[REDACTED:" in text


def _write_large_log(path: Path, n: int) -> None:
    template = read_log_template()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            template["record_id"] = f"{i:032x}"
            template["proposal_id"] = f"{i:012x}"
            template["outcome"] = ("accepted", "rejected", "ignored", "filtered")[i % 4]
            template["task"] = f"Fix the {i % 7} errors in 'src/mod{i % 97}.py'"
            template["decided_at"] = 1_764_000_000.0 + i
            template["observations"] = [
                {
                    "Time": "2025-11-24 16:00:00",
                    "Event": f"The user edits function `f{i}` in 'src/mod{i % 97}.py' (3 lines changed).",
                },
                {
                    "Time": "2025-11-24 16:00:05",
                    "Event": f"The user saves 'src/mod{i % 97}.py', which still has {i % 7} errors.",
                },
            ]
            f.write(json.dumps(template) + "\n")


def read_log_template() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "session_id": "s",
        "proposed_at": 1_764_000_000.0,
        "message": "Go through them?",
        "purpose": "Errors remain in a file the user has just saved.",
        "thoughts": None,
        "operation": "open_location",
        "anchor": None,
        "proposer": "local",
        "model": None,
        "judge": None,
        "judge_score": None,
        "judge_reason": None,
        "detail": None,
    }


def test_a_large_log_is_exported_in_constant_memory(tmp_path: Path) -> None:
    log = tmp_path / "large.jsonl"
    n = 200_000
    _write_large_log(log, n)
    size = log.stat().st_size
    sink = 0
    started = time.perf_counter()
    tracemalloc.start()
    try:
        stats = ExportStats()
        for row in export_rows(read_records(log, stats), "reward", stats):
            sink += len(row["obs"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    print(
        f"\n200,000 records ({size / 1e6:.0f} MB): peak traced memory {peak / 1e6:.1f} MB, "
        f"{elapsed:.1f} s, {stats.summary()}"
    )
    assert stats.records == n and stats.rows == n // 2  # accepted and rejected; no duplicate content to drop
    assert peak < 24e6 < size / 2  # the two 4 MiB Bloom filters and a bounded cache, not the log


def test_cli_errors_are_clear(tmp_path: Path, real_log: tuple[Path, list[str]]) -> None:
    log, _ = real_log

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "proactive_ls", "export", *args], capture_output=True, text=True, timeout=120
        )

    missing = run("--format", "reward", "--feedback-log", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "no feedback log at" in missing.stderr and "Traceback" not in missing.stderr
    bad_time = run("--format", "reward", "--feedback-log", str(log), "--since", "last tuesday")
    assert bad_time.returncode == 2 and "--since" in bad_time.stderr and "Traceback" not in bad_time.stderr
    bad_format = run("--format", "csv", "--feedback-log", str(log))
    assert bad_format.returncode == 2 and "'csv' is not one of" in bad_format.stderr and "sft" in bad_format.stderr
    ok = run("--format", "sft", "--feedback-log", str(log))
    assert ok.returncode == 0, ok.stderr
    assert len([json.loads(line) for line in ok.stdout.splitlines()]) == 1
    assert "exported 1 rows from 3 records" in ok.stderr
