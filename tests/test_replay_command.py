"""One `proactive-ls replay` command over many files replays each as a command of its own would:
the files share git's processes and one event loop, never a session's state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES, SHARED

CLI = [sys.executable, "-m", "proactive_ls", "replay"]
TRACES = sorted((SHARED / "test_data").glob("*_1?.json"))[:2]
FAILING = EXAMPLES / "failing-test" / "session.jsonl"


def replay(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, files)], capture_output=True, text=True, timeout=120)


def replay_json(*files: Path) -> list[dict[str, Any]]:
    proc = subprocess.run([*CLI, "--json", *map(str, files)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    return [comparable(r) for r in results]


def comparable(value: Any) -> Any:
    """A result without what differs from run to run: a proposal's random id and the wall time taken."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in ("id", "seconds")}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def test_one_command_gives_what_a_command_per_file_gives() -> None:
    # The failing test twice: a state kept from the first (its pending proposal, the pacing rules'
    # last proposal, the documents) would keep the second one from proposing, or change what it says.
    files = [
        *TRACES,
        FAILING,
        EXAMPLES / "errors-after-save" / "session.jsonl",
        EXAMPLES / "quiet-editing" / "session.jsonl",
        EXAMPLES / "recorded-session" / "recording.jsonl",
        FAILING,
    ]
    together = replay_json(*files)
    apart = [result for path in files for result in replay_json(path)]
    assert together == apart
    assert together[-1]["proposals"] == 1 and together[-1]["events"] > 0
    assert sum(r["proposals"] for r in together) >= 4


def test_a_file_that_does_not_load_ends_the_command_after_the_files_before_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"time": 1, "action": "open", "path": "a.py"}\n{"time": 2, "action": "teleport"}\n')
    quiet = EXAMPLES / "quiet-editing" / "session.jsonl"
    proc = replay(FAILING, bad, quiet)
    assert proc.returncode == 2
    assert "Open the failure of `test_precedence`" in proc.stdout  # the file before it was replayed
    assert str(quiet) not in proc.stdout  # the one after it was not
    assert "bad.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr
