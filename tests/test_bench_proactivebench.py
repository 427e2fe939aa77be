"""`proactive-ls bench proactivebench`: the paper's per-step protocol on the 12 real test traces."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from proactive_ls.bench.proactivebench import BenchError, main_bench_proactivebench, recorded_task, run_bench
from proactive_ls.bench.traces import load_splits, load_trace, published_steps, trace_names
from proactive_ls.config import Settings, parse_settings
from tests.conftest import SHARED

pytestmark = pytest.mark.shared
SPLITS = ("real_average", "real_coding", "real_writing")


@pytest.fixture
def data() -> Path:
    if not (SHARED / "test_data" / "splits.json").is_file():
        pytest.skip(f"the ProactiveBench data is not at {SHARED} (it lives beside the repository, in ../shared)")
    return SHARED


def check_metrics(m: dict[str, Any]) -> None:
    tp, fp, tn, fn = m["tp"], m["fp"], m["tn"], m["fn"]
    assert tp + fp + tn + fn == m["steps"] and tp + fp == m["proposals"]
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    assert m["precision"] == pytest.approx(p, abs=1e-4) and m["recall"] == pytest.approx(r, abs=1e-4)
    assert m["accuracy"] == pytest.approx((tp + tn) / m["steps"], abs=1e-4)
    assert m["false_alarm"] == pytest.approx(fp / (tp + fp) if tp + fp else 0.0, abs=1e-4)
    assert m["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=1e-4)


def check_splits(splits: dict[str, dict[str, Any]]) -> None:
    assert list(splits) == list(SPLITS)
    for m in splits.values():
        check_metrics(m)
    avg, code, writing = (splits[s] for s in SPLITS)
    assert (avg["steps"], code["steps"], writing["steps"]) == (227, 107, 120)  # the published step counts
    for key in ("tp", "fp", "tn", "fn"):
        assert avg[key] == code[key] + writing[key]


def test_the_published_steps(data: Path) -> None:
    splits = load_splits(data)
    assert set(SPLITS) <= set(splits)
    steps = {n: published_steps(data, n) for n in trace_names(data)}
    assert sum(map(len, steps.values())) == 227
    assert all(s.task_status is not None for ss in steps.values() for s in ss)  # every step is annotated
    # The agents saw the rewritten sentences: the first of writing_11 no longer reads 'badrandResearch.m'.
    assert steps["writing_11"][0].event == "The user types 'brandResearch.md' in Visual Studio Code."


def test_the_local_proposer_is_silent_on_sentences(data: Path) -> None:
    result = asyncio.run(run_bench(data, "local", "gate", Settings()))
    metrics = result.metrics()["local"]
    for variant in ("as_proposed", "gate_filtered"):
        check_splits(metrics[variant])
        avg = metrics[variant]["real_average"]
        assert avg["proposals"] == 0 and avg["tp"] == avg["fp"] == 0
    # Silence judged by the gate: accepted (TN) where it scores at least 0.5.
    rows = [r for r in result.rows if r.variant == "as_proposed"]
    assert all((r.outcome == "TN") == (r.judge_score >= 0.5) for r in rows)
    assert 0 < sum(r.outcome == "TN" for r in rows) < len(rows)


def test_recorded_gpt4o_under_the_gate_and_filtered_by_it(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "gpt4o"
    assert main_bench_proactivebench(data, "trace:gpt-4o", "gate", None, out, 4, True) == 0
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["steps"] == 227 and report["judge"] == "gate" and report["filter"]["threshold"] == 0.35
    proposed = report["results"]["trace:gpt-4o"]["as_proposed"]
    filtered = report["results"]["trace:gpt-4o"]["gate_filtered"]
    check_splits(proposed)
    check_splits(filtered)

    # As recorded: one proposal per step with a task in the agent's run ('null' is silence).
    recorded = sum(
        recorded_task(s.agent_response) is not None
        for n in trace_names(data)
        for s in load_trace(data / "agent_traces" / "gpt-4o" / f"{n}.json")
    )
    assert proposed["real_average"]["proposals"] == recorded > 200  # it interrupts at almost every step
    # The filter only turns proposals into silences.
    a, f = proposed["real_average"], filtered["real_average"]
    assert f["proposals"] < a["proposals"]
    assert f["tp"] + f["fp"] + (a["proposals"] - f["proposals"]) == a["tp"] + a["fp"]
    assert f["false_alarm"] < a["false_alarm"]
    # The baseline: a blind filter keeping as many proposals keeps the precision and loses recall.
    r = report["results"]["trace:gpt-4o"]["random_filter"]["real_average"]
    check_metrics(r)
    assert r["proposals"] == pytest.approx(f["proposals"]) and r["precision"] == pytest.approx(a["precision"], abs=1e-4)
    assert r["recall"] == pytest.approx(a["recall"] * f["proposals"] / a["proposals"], abs=1e-4)

    with open(out.with_suffix(".csv"), encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 227
    for row in rows:
        kept = row["filter_score"] != "" and float(row["filter_score"]) >= 0.35
        if row["variant"] == "gate_filtered":
            assert (row["task"] != "") == kept
        assert row["outcome"] in ("TP", "FP", "TN", "FN")


def test_the_labels_judge_is_the_annotation(data: Path) -> None:
    result = asyncio.run(run_bench(data, "trace:qwen2-7b", "labels", Settings()))
    for r in result.rows:
        needed = r.help_needed
        assert r.outcome == ({True: "TP", False: "FP"}[needed] if r.task else {True: "FN", False: "TN"}[needed])
    check_splits(result.metrics()["trace:qwen2-7b"]["as_proposed"])


def test_recorded_tasks() -> None:
    assert recorded_task(["null"]) is None and recorded_task([]) is None and recorded_task(None) is None
    assert recorded_task({"candidate_task": ["x"]}) is None  # a step whose request failed in the original run
    assert recorded_task(["Explain the error."]) == "Explain the error."
    assert recorded_task([{"Operation": "search"}]) == '{"Operation": "search"}'


def test_bad_options_and_missing_data_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_bench_proactivebench(tmp_path, "local", "gate", None, None, 4, True) == 2
    assert "no ProactiveBench data at" in capsys.readouterr().err
    if (SHARED / "test_data" / "splits.json").is_file():
        assert main_bench_proactivebench(SHARED, "trace:no-such-model", "gate", None, None, 4, True) == 2
        assert "no recorded run of 'no-such-model'" in capsys.readouterr().err
        assert main_bench_proactivebench(SHARED, "local", "oracle", None, None, 4, True) == 2
        assert "unknown judge" in capsys.readouterr().err
        assert main_bench_proactivebench(SHARED, "vllm", "gate", None, None, 4, True) == 2
        assert '"model"' in capsys.readouterr().err


def test_remote_proposer_and_judge_run_concurrently_within_the_limit(data: Path) -> None:
    """A served model and reward model (here an in-process OpenAI-compatible stand-in): the requests of
    the 12 traces overlap, but never more than --concurrency at once."""
    in_flight = 0
    peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.002)
            body = json.loads(request.content)
            text = body["messages"][-1]["content"]
            if "Proposed Task" in text:  # the judge: accept tasks of even length, and silence
                task = json.loads(text)["Proposed Task"]
                content = {
                    "thought": "t",
                    "judgement": "accepted" if task is None or len(task) % 2 == 0 else "rejected",
                }
            else:
                last = json.loads(text)["Observations"][-1]["Event"]
                task = f"Help with: {last[:40]}" if "search" in last.lower() else None
                content = {"Purpose": "p", "Thoughts": "t", "Proactive Task": task, "Response": task or ""}
            return httpx.Response(
                200, json={"choices": [{"message": {"content": json.dumps(content)}, "finish_reason": "stop"}]}
            )
        finally:
            in_flight -= 1

    settings = parse_settings(
        {"model": {"name": "stand-in", "maxRetries": 0}, "judgeModel": {"name": "rm", "maxRetries": 0}}
    )
    result = asyncio.run(
        run_bench(data, "vllm", "vllm", settings, concurrency=3, transport=httpx.MockTransport(handler))
    )
    assert 1 < peak <= 3
    metrics = result.metrics()["vllm"]["as_proposed"]
    check_splits(metrics)
    assert metrics["real_average"]["proposals"] > 0 and metrics["real_average"]["proposer_faults"] == 0
    # What the stand-in judge answered is what was counted.
    rows = [r for r in result.rows if r.variant == "as_proposed"]
    assert all(r.outcome == ("TN" if r.task is None else "TP" if len(r.task) % 2 == 0 else "FP") for r in rows)
    assert {"TP", "FP", "TN"} <= {r.outcome for r in rows}


def test_unknown_proposer_is_refused(data: Path) -> None:
    with pytest.raises(BenchError, match="unknown proposer"):
        asyncio.run(run_bench(data, "oracle", "gate", Settings()))
