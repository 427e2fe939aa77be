"""The gate: deterministic training, the packaged artifact, its evaluation, retraining from feedback."""

from __future__ import annotations

import contextlib
import io
import json
import math
import statistics
import time
from pathlib import Path

import pytest

from proactive_ls.bench.gate_eval import default_data_dir, main_bench_gate, metrics
from proactive_ls.events import Failure, Observation, TerminalCommand, render_history
from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord
from proactive_ls.judges.base import Judge
from proactive_ls.judges.gate import (
    PACKAGED_MODEL,
    Gate,
    GateJudge,
    features,
    parse_time,
    sentence_kinds,
    threshold_for,
)
from proactive_ls.judges.gate_retrain import main_train_gate
from proactive_ls.judges.gate_train import feedback_rows, group_traces, load_reward_rows, train_gate
from proactive_ls.proposals import ShowMarkdown, Suggestion
from proactive_ls.proposers.base import ProposalContext

DATA = default_data_dir()
needs_data = pytest.mark.skipif(
    DATA is None, reason="ProactiveBench data absent (../shared/proactivebench or $PROACTIVEBENCH_DATA)"
)

RUBY = [
    {
        "time": "1717377997.0",
        "event": "The user starts working on a file 'CheckName.rb' within a Ruby project in Visual Studio Code.",
    },
    {
        "time": "1717378000.7",
        "event": "The user searches on Google for 'How to capitalize person name in ruby?' "
        "after typing and clicking 'Enter'.",
    },
]


def _toy_rows() -> list[dict]:
    """Two small traces where specific tasks about the latest event are accepted and vague ones not."""
    rows = []
    for topic, query in [("pandas", "pandas read csv"), ("oauth", "oauth token error")]:
        obs = []
        for step in range(6):
            obs = obs + [
                {"time": f"Day 1, 10:{10 * step:02d} PM", "event": f"The user searches for '{query} {step}' ({topic})."}
            ]
            rows.append({"obs": list(obs), "pred_task": f"Explain {query} {step} with an example", "valid": True})
            rows.append({"obs": list(obs), "pred_task": "Continue working on the project", "valid": False})
            rows.append({"obs": list(obs), "pred_task": None, "valid": step % 2 == 0})
    return rows


# --------------------------------------------------------------------------------------------
# Pure functions.


def test_time_formats() -> None:
    assert parse_time("Day 1, 11:00 PM") == 23 * 3600
    assert parse_time("Day 2, 12:05 AM") - parse_time("Day 1, 11:58 PM") == 7 * 60
    assert parse_time("1717336761.455") == pytest.approx(1717336761.455)
    assert parse_time("2025-01-02 10:11:12") - parse_time("2025-01-02 10:11:02") == 10
    assert parse_time(12.5) == 12.5
    assert parse_time("yesterday") is None


def test_sentence_kinds() -> None:
    assert {"search"} <= sentence_kinds("The user searches for 'pandas read_csv file not found error'.")
    assert {"error", "run"} <= sentence_kinds(
        "The terminal displays an error message indicating that the file 'data.csv' was not found."
    )
    assert "copy" in sentence_kinds("The user pasted ('cmd+v') and scrolled within another application.")
    assert "search" not in sentence_kinds("The user saves 'a.py'.")


def test_features_from_events_and_both_key_styles() -> None:
    events = [
        Observation(time=100.0, text="The user opens 'io.py'."),
        TerminalCommand(
            time=130.0,
            command_line="pytest",
            exit_code=1,
            failure=Failure(
                tool="pytest", title="test_parse", summary="2 tests failed in 'tests/test_io.py'", failed=2
            ),
        ),
    ]
    upper = render_history(events)
    lower = [{"time": o["Time"], "event": o["Event"]} for o in upper]
    gate = Gate.load()
    assert gate.score(upper, "Fix the failing tests") == gate.score(lower, "Fix the failing tests")
    f = features(upper, "Fix the failing tests", events)
    assert f["p|last:error"] == 1.0 and f["p|last:run"] == 1.0 and f["p|error_open"] == 1.0
    assert "t|fix_after_error" in f
    silent = features(upper, None, events)
    assert "s|last:error" in silent and not any(k.startswith(("p|", "t|", "w|")) for k in silent)


def test_metrics_definitions() -> None:
    m = metrics([True, True, False, False], [True, False, True, False])
    assert m == {"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5, "false_alarm": 0.5, "n": 4}


def test_training_is_deterministic(tmp_path: Path) -> None:
    rows = _toy_rows()
    a, b = train_gate(rows, seed=0), train_gate(rows, seed=0)
    assert a.dumps() == b.dumps() and a.version == b.version
    a.save(tmp_path / "gate.json")
    loaded = Gate.load(tmp_path / "gate.json")
    assert loaded.dumps() == a.dumps()
    obs = rows[-1]["obs"]
    assert loaded.score(obs, "Explain oauth token error 5 with an example") > loaded.score(
        obs, "Continue working on the project"
    )
    with pytest.raises(TypeError):
        train_gate(rows, learning_rate=1.0)


# --------------------------------------------------------------------------------------------
# The packaged artifact.


def test_packaged_artifact_loads_and_is_fast() -> None:
    raw = json.loads(PACKAGED_MODEL.read_text(encoding="utf-8"))
    assert raw["meta"]["data_license"] == "Apache-2.0"
    gate = Gate.load()
    assert gate.version == raw["version"] and gate.weights
    history = RUBY * 10  # 20 events, the most the gate looks at
    timings = []
    for task in ["Provide a Ruby example that capitalizes a person name", None] * 100:
        start = time.perf_counter()
        s = gate.score(history, task)
        timings.append(time.perf_counter() - start)
        assert 0.0 < s < 1.0 and math.isfinite(s)
    print(f"gate score: median {statistics.median(timings) * 1e3:.3f} ms over {len(timings)} calls")


def test_packaged_gate_prefers_the_specific_task() -> None:
    gate = Gate.load()
    specific = gate.score(RUBY, "Provide a Ruby code example that capitalizes each part of a person name")
    vague = gate.score(RUBY, "Continue working on the file")
    assert specific >= threshold_for("normal", None) > vague
    assert specific - vague > 0.3
    # ProactiveBench has no rejection signal, so the packaged model gives it no weight (yet).
    assert gate.score(RUBY, "Continue working on the file", recent_rejections=5) == vague


def test_threshold_for() -> None:
    assert threshold_for("quiet", None) > threshold_for("normal", None) > threshold_for("eager", None)
    assert threshold_for("eager", 0.9) == 0.9
    with pytest.raises(ValueError):
        threshold_for("shouty", None)
    with pytest.raises(ValueError):
        threshold_for("normal", 1.5)


async def test_gate_judge() -> None:
    events = [Observation(time=1717377997.0 + i, text=o["event"]) for i, o in enumerate(RUBY)]
    ctx = ProposalContext(history=events, new_events=events[-1:], now=1717378010.0)
    judge = GateJudge()
    assert isinstance(judge, Judge) and judge.name == "gate"

    def suggestion(task: str) -> Suggestion:
        return Suggestion(task=task, message=task, operation=ShowMarkdown(title=task, markdown=task))

    good = await judge.judge(ctx, suggestion("Provide a Ruby code example that capitalizes each part of a person name"))
    bad = await judge.judge(ctx, suggestion("Continue working on the file"))
    assert good.accept and not bad.accept and good.judge == "gate"
    assert good.score is not None and bad.score is not None and good.score > bad.score
    assert bad.reason == f"gate score {bad.score:.2f} < 0.35 (normal)"
    assert good.reason.endswith(">= 0.35 (normal)")
    lenient = await GateJudge(judge.gate, threshold=0.0).judge(ctx, suggestion("Continue working on the file"))
    assert lenient.accept and lenient.reason.endswith("(override)")
    judge.note_outcome("rejected", 1717378000.0)
    judge.note_outcome("accepted", 1717378001.0)
    assert judge.recent_rejections(1717378010.0) == 1 and judge.recent_rejections(1717378000.0 + 7200) == 0
    await judge.aclose()


# --------------------------------------------------------------------------------------------
# Retraining from a feedback log.


def _record(outcome: str, task: str, t: float, obs: list[dict[str, str]]) -> FeedbackRecord:
    return FeedbackRecord(
        proposal_id=f"p{t}",
        outcome=outcome,
        proposed_at=t,
        decided_at=t + 5,
        task=task,
        message=task,
        operation="show_markdown",
        observations=obs,
        proposer="test",
    )


def _write_log(path: Path) -> None:
    log = FeedbackLog(path)
    t = 1_700_000_000.0
    for i in range(12):
        obs = [{"Time": "2025-01-01 10:00:00", "Event": f"The user ran 'pytest' in the terminal; test_{i} failed."}]
        log.append_sync(_record("accepted", f"Fix test_{i}", t + 100 * i, obs))
        log.append_sync(_record("rejected", "Take a short break", t + 100 * i + 10, obs))
        log.append_sync(_record("ignored", "Read the docs", t + 100 * i + 20, obs))
        log.append_sync(_record("filtered", "Fix the test again", t + 100 * i + 30, obs))


def test_feedback_rows(tmp_path: Path) -> None:
    _write_log(tmp_path / "feedback.jsonl")
    rows, counts = feedback_rows(tmp_path / "feedback.jsonl")
    assert counts == {"accepted": 12, "rejected": 12, "ignored": 12, "filtered": 12}
    assert len(rows) == 24 and sum(r["valid"] for r in rows) == 12
    assert max(r["recent_rejections"] for r in rows) > 0
    weak, _ = feedback_rows(tmp_path / "feedback.jsonl", include_ignored=True)
    assert len(weak) == 36 and {r["weight"] for r in weak} == {1.0, 0.3}


def test_train_from_feedback_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_log(tmp_path / "feedback.jsonl")
    out = tmp_path / "user" / "gate_model.json"
    assert main_train_gate(tmp_path / "feedback.jsonl", None, out) == 2  # 24 records: too few
    assert "--force" in capsys.readouterr().err
    assert main_train_gate(tmp_path / "feedback.jsonl", None, out, force=True) == 0
    assert "Gate retrained" in capsys.readouterr().out
    gate = Gate.load(out)
    assert gate.meta["sources"]["feedback_outcomes"]["filtered"] == 12
    obs = [{"Time": "2025-01-01 11:00:00", "Event": "The user ran 'pytest' in the terminal; test_7 failed."}]
    assert gate.score(obs, "Fix test_7") > 0.5 > gate.score(obs, "Take a short break")
    # The rejection count comes from the log itself, so a retrained model can give it weight.
    assert gate.weights.get("p|rejections", 0.0) != 0.0


def test_train_needs_both_outcomes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    log.append_sync(_record("accepted", "Fix it", 1.0, []))
    assert main_train_gate(tmp_path / "feedback.jsonl", None, tmp_path / "g.json") == 2
    assert "nothing to learn from" in capsys.readouterr().err
    assert main_train_gate(tmp_path / "missing.jsonl", None, tmp_path / "g.json") == 2
    assert not (tmp_path / "g.json").exists()


def test_bench_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_bench_gate(tmp_path / "nowhere", json_out=True) == 2
    captured = capsys.readouterr()
    assert "not found" in captured.err and "Traceback" not in captured.err and captured.out == ""


# --------------------------------------------------------------------------------------------
# On the shared ProactiveBench data.


@pytest.mark.shared
@needs_data
def test_group_traces_finds_16() -> None:
    assert DATA is not None
    rows = load_reward_rows(DATA / "reward_data" / "train_data.jsonl")
    traces = group_traces(rows)
    assert len(set(traces)) == 16 and len(traces) == len(rows) == 1629


@pytest.mark.shared
@needs_data
def test_training_on_proactivebench_is_deterministic() -> None:
    assert DATA is not None
    rows = load_reward_rows(DATA / "reward_data" / "train_data.jsonl")[:400]
    assert train_gate(rows, seed=3).dumps() == train_gate(rows, seed=3).dumps()


@pytest.fixture(scope="module")
def bench_json() -> dict:
    """What `proactive-ls bench gate --json` prints (about a minute: 32 trainings in pure Python)."""
    if DATA is None:
        pytest.skip("ProactiveBench data absent (../shared/proactivebench or $PROACTIVEBENCH_DATA)")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main_bench_gate(DATA, json_out=True) == 0
    return json.loads(buffer.getvalue())


@pytest.mark.shared
@needs_data
def test_evaluation_shape_and_gate_beats_always_accept(bench_json: dict) -> None:
    keys = {"accuracy", "precision", "recall", "f1", "false_alarm", "n"}
    assert set(bench_json) == {"loto", "leaked_split"}
    assert set(bench_json["loto"]) == {"gate", "always_accept", "accept_silences", "logreg"}
    assert set(bench_json["leaked_split"]) == {"gate"}
    for m in [*bench_json["loto"].values(), bench_json["leaked_split"]["gate"]]:
        assert set(m) == keys and all(0.0 <= m[k] <= 1.0 for k in keys - {"n"})
    loto = bench_json["loto"]
    assert loto["gate"]["n"] == 1629 and bench_json["leaked_split"]["gate"]["n"] == 120
    assert loto["always_accept"]["recall"] == 1.0
    assert loto["gate"]["f1"] > loto["always_accept"]["f1"]
    assert loto["gate"]["accuracy"] > loto["always_accept"]["accuracy"]
    assert loto["gate"]["false_alarm"] < loto["always_accept"]["false_alarm"]
    print("LOTO gate:", loto["gate"])
