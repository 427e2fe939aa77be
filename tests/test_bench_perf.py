"""`proactive-ls bench perf --quick` runs every scenario and writes every figure beside its floor.

It checks the benchmark works, never that anything is fast (speed is the benchmark's output).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.timeout(900)
def test_bench_perf_quick_writes_a_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    proc = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "bench", "perf", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=850,
    )
    assert proc.returncode == 0, proc.stderr
    assert "proactive-ls bench perf" in proc.stdout
    document = json.loads(out.read_text())
    assert document["quick"] is True
    rows = {r["figure"]: r for r in document["rows"]}
    for prefix in (
        "one keystroke",
        "start-up to the initialize response",
        "RSS with",
        "RSS growth",
        "worst request wait, 5 x",
        "worst request wait, Replace All",
        "worst request wait, burst end",
        "worst request wait, opening 50 files",
        "worst request wait, git snapshots",
        "time to proposal less the quiet period, p99",
        "burst end (parse",
        "engine with redaction and gate",
        "one gate decision, p99",
        "replay of",
        "model request size",
        "bytes shared with the previous request",
    ):
        matching = [r for name, r in rows.items() if name.startswith(prefix)]
        assert matching, f"no figure {prefix!r}"
        for row in matching:
            # Finite, not positive: a growth of RSS (ours or the floor's) can be zero or negative.
            assert isinstance(row["value"], int | float) and math.isfinite(row["value"]), row
            if row["floor_name"]:
                floor = row["floor"]  # measured in the same run
                assert isinstance(floor, int | float) and math.isfinite(floor), row


@pytest.mark.timeout(300)
def test_bench_perf_only_runs_the_named_scenarios(tmp_path: Path) -> None:
    out = tmp_path / "perf.json"
    proc = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "bench", "perf", "--quick", "--only", "shape", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=250,
    )
    assert proc.returncode == 0, proc.stderr
    figures = [r["figure"] for r in json.loads(out.read_text())["rows"]]
    assert figures and all(f.startswith(("model request size", "bytes shared")) for f in figures), figures


def test_bench_perf_names_the_scenarios_when_one_is_unknown() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "bench", "perf", "--only", "memroy"],
        capture_output=True,
        text=True,
        timeout=250,
    )
    assert proc.returncode == 2
    assert "unknown scenario memroy" in proc.stderr and "memory" in proc.stderr
    assert "replace-all" in proc.stderr  # a part of "blocking" can run alone
