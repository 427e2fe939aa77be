#!/usr/bin/env python3
"""Rebuild the example sessions in examples/ by running their commands for real.

Each session is what an editor would have sent while a developer worked on the example's
workspace; the terminal output in it is captured here from a real pytest run (and the
diagnostics from Python's own compiler), so the replay parses the same text a user would see.
Times are fixed so the files are reproducible.

`recorded-session` is different: it is what `proactive-ls serve --record` wrote while this script
drove the real server over stdio, so it is not byte-reproducible (arrival times differ); its
`expect.json` holds the tasks the live server proposed.

    python scripts/make-examples.py [NAME ...]   # default: every example
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from proactive_ls.lsp import protocol

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
        "changes": [
            {
                "range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": old_len}},
                "text": text,
            }
        ],
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
            {
                "time": T0 + 12.0,
                "action": "terminal",
                "commandLine": "python -m pytest",
                "cwd": ".",
                "exitCode": code,
                "output": output,
                "durationMs": 480,
            },
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
        actions.append(
            edit(
                t,
                "calc.py",
                line,
                len(calc[line]),
                f'    """Split an expression such as \'1 + 2\' into tokens ({i}).""" '.rstrip(),
            )
        )
        calc[line] = actions[-1]["changes"][0]["text"]
        actions.append({"time": t + 5, "action": "save", "path": "calc.py"})
        actions.append({"time": t + 6, "action": "diagnostics", "path": "calc.py", "diagnostics": []})
        t += 40
    actions.append(
        {
            "time": t,
            "action": "terminal",
            "commandLine": "python -m pytest -q",
            "cwd": ".",
            "exitCode": code,
            "output": output,
            "durationMs": 430,
        }
    )
    actions.append({"time": t + 30, "action": "close", "path": "calc.py"})
    write(
        "quiet-editing",
        {
            "description": (
                "A developer edits and saves a docstring a few times; tests pass. Nothing should be proposed."
            ),
            "expect": {"tasks": []},
        },
        actions,
    )


COMPILE = """import json, sys
try:
    compile(sys.stdin.read(), sys.argv[1], "exec")
except SyntaxError as e:
    where = {"line": e.lineno, "offset": e.offset, "end_line": e.end_lineno, "end_offset": e.end_offset}
    print(json.dumps({**where, "msg": e.msg}))
"""


def python_diagnostics(text: str, name: str) -> list[dict]:
    """What a Python language server reports for `text`: the compiler's error, as an LSP diagnostic."""
    proc = subprocess.run([sys.executable, "-c", COMPILE, name], input=text, capture_output=True, text=True, check=True)
    if not proc.stdout.strip():
        return []
    e = json.loads(proc.stdout)
    line, start = e["line"] - 1, max(e["offset"] - 1, 0)
    end_line = (e["end_line"] or e["line"]) - 1
    end = e["end_offset"] - 1 if e["end_offset"] and (end_line, e["end_offset"] - 1) > (line, start) else start + 1
    rng = {"start": {"line": line, "character": start}, "end": {"line": end_line, "character": end}}
    return [{"range": rng, "message": e["msg"], "severity": 1, "source": "python"}]


def errors_after_save() -> None:
    ws = ROOT / "errors-after-save" / "workspace"
    path = "shapes.py"
    lines = (ws / path).read_text().splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines) if text.strip() == "return math.pi * radius ** 2")
    old = lines[line].rstrip("\n")
    new = "    return math.pi * (radius ** 2"
    edited = "".join(lines[:line] + [new + "\n"] + lines[line + 1 :])
    diagnostics = python_diagnostics(edited, path)
    assert diagnostics, "the edited file should not compile"
    clean = python_diagnostics("".join(lines), path)
    assert not clean, "the example's file should compile before the edit"
    write(
        "errors-after-save",
        {
            "description": (
                "A developer breaks a line of shapes.py; the language server reports it and the file is saved anyway."
            ),
            "expect": {"tasks": ["Fix the error in 'shapes.py'"]},
        },
        [
            {"time": T0, "action": "open", "path": path, "languageId": "python"},
            {"time": T0 + 2.0, "action": "diagnostics", "path": path, "diagnostics": clean},
            edit(T0 + 6.0, path, line, len(old), new),
            {"time": T0 + 6.6, "action": "diagnostics", "path": path, "diagnostics": diagnostics},
            {"time": T0 + 11.0, "action": "save", "path": path},
        ],
    )


async def _drive_recorded_session(ws: Path, recording: Path) -> list[str]:
    from lsprotocol import types

    from tests.lsp_client import SERVER_COMMAND, start_session

    with tempfile.TemporaryDirectory() as tmp:
        command = [*SERVER_COMMAND, "--record", str(recording)]
        client = await start_session(ws, Path(tmp) / "feedback.jsonl", command=command)
        try:
            calc = ws / "calc.py"
            uri = calc.as_uri()
            item = types.TextDocumentItem(uri=uri, language_id="python", version=1, text=calc.read_text())
            client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
            await asyncio.sleep(0.5)
            lines = calc.read_text().splitlines()
            line = lines.index("    return sum(values) / len(values)")
            for version, ch in enumerate("  # mean", start=2):  # typed one key at a time at the end of the line
                pos = types.Position(line=line, character=len(lines[line]) + version - 2)
                change = types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=ch)
                doc = types.VersionedTextDocumentIdentifier(uri=uri, version=version)
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(text_document=doc, content_changes=[change])
                )
                await asyncio.sleep(0.03)
            await asyncio.sleep(0.6)
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
            await asyncio.sleep(0.6)
            code, output = run(ws, [sys.executable, "-m", "pytest"])
            client.protocol.notify(
                protocol.TERMINAL_COMMAND,
                {
                    "commandLine": "python -m pytest",
                    "cwd": str(ws),
                    "exitCode": code,
                    "output": output,
                    "durationMs": 450,
                },
            )
            proposal = await client.next_proposal()
            await asyncio.sleep(0.5)
            return [proposal["task"]]
        finally:
            await client.shutdown_session()


def recorded_session() -> None:
    folder = ROOT / "recorded-session"
    ws = folder / "workspace"
    if not ws.exists():
        shutil.copytree(ROOT / "failing-test" / "workspace", ws)
    recording = folder / "recording.jsonl"
    tasks = asyncio.run(_drive_recorded_session(ws, recording))
    (folder / "expect.json").write_text(json.dumps({"tasks": tasks}, indent=2) + "\n")
    print(f"wrote {recording}")


BUILDERS = {
    "failing-test": failing_test,
    "quiet-editing": quiet_editing,
    "errors-after-save": errors_after_save,
    "recorded-session": recorded_session,
}

if __name__ == "__main__":
    # python scripts/make-examples.py [NAME ...]: rebuild the named examples (default: all of them)
    for name in sys.argv[1:] or list(BUILDERS):
        BUILDERS[name]()
