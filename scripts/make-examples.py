#!/usr/bin/env python3
"""Rebuild the example sessions in examples/ by running their commands for real.

Each session is what an editor would have sent while a developer worked on the example's
workspace; the terminal output in it is captured here from a real pytest run, so the replay
parses the same text a user would see. Times are fixed so the files are reproducible.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "examples"
T0 = 1_764_000_000.0  # a fixed start time


def run(workspace: Path, command: list[str]) -> tuple[int, str]:
    proc = subprocess.run(command, cwd=workspace, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def edit(t: float, path: str, line: int, old_len: int, text: str) -> dict:
    return {
        "time": t,
        "action": "change",
        "path": path,
        "changes": [{"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": old_len}}, "text": text}],
    }


def write(name: str, header: dict, actions: list[dict]) -> None:
    path = ROOT / name / "session.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"format": "proactive-ls/session", "version": 1, "workspace": "workspace", **header}) + "\n")
        for action in actions:
            f.write(json.dumps(action) + "\n")
    print(f"wrote {path}")


def failing_test() -> None:
    ws = ROOT / "failing-test" / "workspace"
    command = [sys.executable, "-m", "pytest"]
    code, output = run(ws, command)
    assert code == 1, f"the example's tests should fail, got exit {code}"
    calc = (ws / "calc.py").read_text().splitlines()
    line = calc.index("    return sum(values) / len(values)")
    write(
        "failing-test",
        {
            "description": "A developer edits calc.py, saves it and runs the tests; two fail.",
            "expect": {"tasks": ["Open the failure of `test_precedence` at tests/test_calc.py:9"]},
        },
        [
            {"time": T0, "action": "open", "path": "calc.py", "languageId": "python"},
            edit(T0 + 4.0, "calc.py", line, len(calc[line]), "    return sum(values) / len(values)  # mean"),
            edit(T0 + 4.3, "calc.py", line, len(calc[line]) + 8, "    return sum(values) / len(values)"),
            {"time": T0 + 9.0, "action": "save", "path": "calc.py"},
            {"time": T0 + 12.0, "action": "terminal", "commandLine": "python -m pytest", "cwd": ".", "exitCode": code, "output": output, "durationMs": 480},
        ],
    )


def quiet_editing() -> None:
    ws = ROOT / "quiet-editing" / "workspace"
    code, output = run(ws, [sys.executable, "-m", "pytest", "-q"])
    assert code == 0, f"the example's tests should pass, got exit {code}"
    calc = (ws / "calc.py").read_text().splitlines()
    line = calc.index('    """Split \'1 + 2\' into tokens."""')
    actions: list[dict] = [{"time": T0, "action": "open", "path": "calc.py", "languageId": "python"}]
    t = T0 + 3
    for i in range(5):  # small edits with pauses, each saved, nothing wrong
        actions.append(edit(t, "calc.py", line, len(calc[line]), f'    """Split an expression such as \'1 + 2\' into tokens ({i}).""" '.rstrip()))
        calc[line] = actions[-1]["changes"][0]["text"]
        actions.append({"time": t + 5, "action": "save", "path": "calc.py"})
        actions.append({"time": t + 6, "action": "diagnostics", "path": "calc.py", "diagnostics": []})
        t += 40
    actions.append({"time": t, "action": "terminal", "commandLine": "python -m pytest -q", "cwd": ".", "exitCode": code, "output": output, "durationMs": 430})
    actions.append({"time": t + 30, "action": "close", "path": "calc.py"})
    write(
        "quiet-editing",
        {"description": "A developer edits and saves a docstring a few times; tests pass. Nothing should be proposed.", "expect": {"tasks": []}},
        actions,
    )


if __name__ == "__main__":
    failing_test()
    quiet_editing()
