"""mypy: ``path:line[:col[:end_line:end_col]]: error: message  [code]`` and ``Found N errors in M files``.

Only errors count; notes explain the error above them. A file-level error without a line (a file
that cannot be read) still names the file, but has no location. With ``pretty = true`` mypy wraps
a long message at the terminal's width: the lines after an error that start in column 0 and are
no diagnostic of their own are the rest of its message.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure
from proactive_ls.sensing.terminal.base import Context, first_detail, location, make_failure, plural, where
from proactive_ls.sensing.terminal.text import clip

_DIAGNOSTIC = re.compile(r"^((?:[A-Za-z]:)?[^\s:][^:]*\.pyi?):(?:(\d+):(?:(\d+):(?:\d+:\d+:)?)? )?\s*error: (.*)$")
_ANY_DIAGNOSTIC = re.compile(r"^(?:[A-Za-z]:)?[^\s:][^:]*\.pyi?:(?:\d+:)*\s*(?:error|note|warning):")
_FOUND = re.compile(r"^Found (\d+) errors? in (\d+) files? \(")  # tsc's "Found 4 errors in 2 files." has no "("


def parse(ctx: Context) -> Failure | None:
    """Type errors reported by mypy, or None when it found none."""
    errors = []
    total: int | None = None
    wrapped: list[str] | None = None  # the message of the last error, while it may go on
    for line in ctx.lines:
        match = _DIAGNOSTIC.match(line)
        if match:
            path, ln, col, message = match.groups()
            loc = location(path, ln, col) if ln else None
            wrapped = [message]
            errors.append((path, loc, clip(message.replace("  [", " ["), 200)))
            continue
        if wrapped is not None and line[:1].strip() and not _ANY_DIAGNOSTIC.match(line) and not _FOUND.match(line):
            wrapped.append(line.strip())
            path, loc, _ = errors[-1]
            errors[-1] = (path, loc, clip(" ".join(wrapped).replace("  [", " ["), 200))
            continue
        wrapped = None
        found = _FOUND.match(line)
        if found:
            total = int(found.group(1))
    if not errors and not total:
        return None
    if not ctx.by_command and (total is None or not errors):
        return None  # "x.py:3: error:" alone could be another tool's
    count = total if total is not None else len(errors)
    paths = [p for p, _, _ in errors]
    summary = f"mypy found {plural(count, 'error')}{where(paths, ctx.cwd)}"
    if not errors:
        return make_failure("mypy", summary, summary, count, [])
    _, first_loc, first_message = errors[0]
    summary += first_detail(first_loc, first_message, paths, count, ctx.cwd)
    return make_failure("mypy", first_message, summary, count, [loc for _, loc, _ in errors])
