"""ESLint's default "stylish" report: a file path line, then ``  line:col  error  message  rule``.

Only errors fail the run, unless ``--max-warnings`` made warnings fail it too; then the warnings
are what the user has to fix.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, first_detail, location, make_failure, plural, where

_PROBLEM = re.compile(r"^\s+(\d+):(\d+)\s+(error|warning)\s+(\S.*)$")
_FILE = re.compile(r"^(?:[A-Za-z]:)?\S.*\.[A-Za-z0-9]+$")
_TOTAL = re.compile(r"^\S+ (\d+) problems? \((\d+) errors?, (\d+) warnings?\)")
_SPLIT = re.compile(r"\s{2,}")


def _message(rest: str) -> str:
    """'msg   rule' -> 'msg (rule)'; stylish pads the message column with spaces before the rule."""
    parts = _SPLIT.split(rest.strip())
    if len(parts) >= 2 and re.fullmatch(r"[@\w/.-]+", parts[-1]):
        return f"{'  '.join(parts[:-1])} ({parts[-1]})"
    return rest.strip()


def parse(ctx: Context) -> Failure | None:
    """The problems that made ESLint fail, or None when it passed."""
    found: dict[str, list[tuple[str, SourceLocation | None, str]]] = {"error": [], "warning": []}
    current_file: str | None = None
    totals: tuple[int, int] | None = None
    for line in ctx.lines:
        problem = _PROBLEM.match(line)
        if problem and current_file is not None:
            ln, col, severity, rest = problem.groups()
            found[severity].append((current_file, location(current_file, ln, col), _message(rest)))
            continue
        total = _TOTAL.match(line)
        if total:
            totals = (int(total.group(2)), int(total.group(3)))
            current_file = None
        elif _FILE.match(line):
            current_file = line.strip()
        elif line.strip():
            current_file = None if not line[0].isspace() else current_file
    if totals is None and not ctx.by_command:
        return None
    errors = totals[0] if totals else len(found["error"])
    warnings = totals[1] if totals else len(found["warning"])
    if errors:
        kind, count, what = "error", errors, f"eslint found {plural(errors, 'error')}"
    elif warnings and ctx.exit_code not in (0, None):
        kind, count, what = "warning", warnings, f"eslint failed because of {plural(warnings, 'warning')}"
    else:
        return None
    problems = found[kind]
    paths = [p for p, _, _ in problems]
    summary = what + where(paths, ctx.cwd)
    if not problems:
        return make_failure("eslint", summary, summary, count, [])
    _, first_loc, first_message = problems[0]
    summary += first_detail(first_loc, first_message, paths, count, ctx.cwd)
    return make_failure("eslint", first_message, summary, count, [loc for _, loc, _ in problems])
