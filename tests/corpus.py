"""The corpus: small real open-source projects vendored in tests/fixtures/corpus, with seeded bugs.

``cases.json`` records each seeded bug: the file, the line, the text replaced, the command that
shows the failure (or the compiler that names the syntax error), and the file and line a user
should be taken to. The tools run for real when installed; otherwise the output captured by
``scripts/corpus-capture.py`` (``captured/<case>.txt`` and ``.json``) is replayed. Nothing is
fetched at test time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CAPTURED = CORPUS / "captured"
SOURCE_SUFFIXES = {
    ".py": "python", ".js": "javascript", ".ts": "typescript", ".tsx": "typescript",
    ".go": "go", ".rs": "rust", ".java": "java", ".c": "c", ".h": "c", ".cpp": "cpp",
}  # fmt: skip


@dataclass(frozen=True)
class Seed:
    file: str
    line: int
    old: str
    new: str


def cases() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads((CORPUS / "cases.json").read_text())
    return data


def seed_of(case: dict[str, Any]) -> Seed:
    s = case.get("seed", case)
    return Seed(s["file"], s["line"], s["old"], s["new"])


def apply_seed(root: Path, seed: Seed) -> str:
    """Replace ``old`` by ``new`` on the seed's line (1-based) of ``root/file``; return the new text."""
    path = root / seed.file
    lines = path.read_text(encoding="utf-8").split("\n")
    assert seed.old in lines[seed.line - 1], (seed, lines[seed.line - 1])
    lines[seed.line - 1] = lines[seed.line - 1].replace(seed.old, seed.new, 1)
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text


def copy_project(name: str, into: Path) -> Path:
    target = into / name
    shutil.copytree(CORPUS / name, target)
    return target


def _argv(command: str, file: str | None = None) -> list[str]:
    words = shlex.split(command)
    if words and words[0] == "python":
        words[0] = sys.executable
    return [file if w == "FILE" and file else w for w in words]


def installed(program: str) -> bool:
    """Whether to run ``program`` for real (PROACTIVE_LS_CORPUS_REPLAY=1 replays every capture)."""
    if os.environ.get("PROACTIVE_LS_CORPUS_REPLAY") == "1":
        return False
    return program == "python" or shutil.which(program) is not None


def run_failure(case: dict[str, Any], project: Path) -> tuple[int, str]:
    """Run the case's command for real in the seeded project: (exit code, output)."""
    env = dict(
        os.environ, NO_COLOR="1", GOFLAGS="-mod=mod", GOCACHE=str(project / ".gocache"), GOPATH=str(project / ".gopath")
    )
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        _argv(case["command"]), cwd=project, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr


def captured(name: str) -> tuple[int, str]:
    meta = json.loads((CAPTURED / f"{name}.json").read_text())
    return int(meta["exitCode"]), (CAPTURED / f"{name}.txt").read_text(encoding="utf-8")


_COMPILER_LINE = (
    re.compile(r"\((\d+),\d+\): error TS1\d{3}"),  # tsc: syntax errors are TS1xxx
    re.compile(r'File ".*?", line (\d+)'),  # python's SyntaxError
    re.compile(r":(\d+):(?:\d+:)? (?:error|expected)"),  # gcc, gofmt, javac
    re.compile(r"\.\w+:(\d+)\n"),  # node --check: "/path/file.js:116" then the source line
    re.compile(r"--> .*?:(\d+):\d+"),  # rustfmt
)


def compiler_line(case: dict[str, Any], file: Path) -> tuple[int | None, str]:
    """The 1-based line the language's own tool names for the seeded syntax error, and its output."""
    words = _argv(case["compiler"], str(file))
    if shutil.which(words[0]) is None:
        return None, ""
    proc = subprocess.run(words, cwd=file.parent, capture_output=True, text=True, timeout=120, check=False)
    output = proc.stdout + proc.stderr
    for pattern in _COMPILER_LINE:
        if m := pattern.search(output):
            return int(m.group(1)), output
    return None, output


def program_of(case: dict[str, Any]) -> str:
    return str(case.get("program") or shlex.split(case["compiler"])[0])


def source_files() -> list[Path]:
    """Every vendored source file of a language the server parses."""
    skip = {"captured"}
    return sorted(
        p
        for p in CORPUS.rglob("*")
        if p.is_file()
        and p.suffix in SOURCE_SUFFIXES
        and not skip & set(p.relative_to(CORPUS).parts)
        and p.name != "conftest.py"
    )


def captured_syntax(name: str) -> int:
    """The line the compiler named for a seeded syntax error, as recorded."""
    return int(json.loads((CAPTURED / f"{name}.json").read_text())["line"])
