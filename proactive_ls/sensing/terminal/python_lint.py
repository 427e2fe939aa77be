"""Python linters: flake8 and ruff (``concise`` and the default ``full`` output).

flake8 and ``ruff --output-format=concise`` print ``path:line:col: CODE message``; ruff's default
prints ``CODE message`` and then `` --> path:line:col`` with a code frame. A lint finding is a
failure only because the command failed (exit 1); the first finding is where to go.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, first_detail, location, make_failure, plural, where

_CODE = r"[A-Z]{1,4}\d{1,4}"
_CONCISE = re.compile(rf"^((?:[A-Za-z]:)?[^\s:][^:]*\.pyi?):(\d+):(\d+): ({_CODE}) (?:\[\*\] )?(.+)$")
_FULL_HEAD = re.compile(rf"^({_CODE}) (?:\[\*\] )?(.+)$")
_FULL_AT = re.compile(r"^\s*--> ((?:[A-Za-z]:)?[^\s:][^:]*\.pyi?):(\d+):(\d+)$")
_RUFF_FOUND = re.compile(r"^Found (\d+) errors?\.")


def parse(ctx: Context) -> Failure | None:
    """The lint findings that made flake8 or ruff fail, or None."""
    if ctx.exit_code == 0:
        return None
    ruff = ctx.runs("ruff") is not None
    findings: list[tuple[str, SourceLocation | None, str]] = []
    head: tuple[str, str] | None = None
    total: int | None = None
    for line in ctx.lines:
        if m := _CONCISE.match(line):
            findings.append((m.group(1), location(m.group(1), m.group(2), m.group(3)), f"{m.group(4)} {m.group(5)}"))
            head = None
        elif m := _FULL_HEAD.match(line):
            head = (m.group(1), m.group(2))
        elif head is not None and (m := _FULL_AT.match(line)):
            findings.append((m.group(1), location(m.group(1), m.group(2), m.group(3)), f"{head[0]} {head[1]}"))
            head = None
        elif m := _RUFF_FOUND.match(line):
            total, ruff = int(m.group(1)), True
    if not findings:
        return None
    if not ctx.by_command and total is None and not all(_CONCISE.match(line) for line in ctx.lines if line):
        return None  # "a.py:1:1: E1 x" lines mixed with other output may be another tool's
    tool = "ruff" if ruff else "flake8"
    n = total if total is not None else len(findings)
    paths = [p for p, _, _ in findings]
    _, loc, message = findings[0]
    summary = (
        f"{tool} found {plural(n, 'problem')}{where(paths, ctx.cwd)}{first_detail(loc, message, paths, n, ctx.cwd)}"
    )
    return make_failure(tool, message, summary, n, [loc for _, loc, _ in findings])
