"""TypeScript's tsc (the JavaScript compiler and the native one): type and config errors.

Plain output is ``src/a.ts(7,9): error TS2322: message``; ``--pretty`` (the default on a terminal)
is ``src/a.ts:7:9 - error TS2322: message`` followed by a code frame; errors about the project
itself (``error TS5112: ...``) have no file.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, first_detail, location, make_failure, plural, where
from proactive_ls.sensing.terminal.text import clip

_PLAIN = re.compile(r"^((?:[A-Za-z]:)?[^\s(][^(]*)\((\d+),(\d+)\): error (TS\d+): (.*)$")
_PRETTY = re.compile(r"^((?:[A-Za-z]:)?[^\s:][^:]*):(\d+):(\d+) - error (TS\d+): (.*)$")
_GLOBAL = re.compile(r"^error (TS\d+): (.*)$")
_FOUND = re.compile(r"^Found (\d+) errors?\b")


def parse(ctx: Context) -> Failure | None:
    """Compile errors reported by tsc, or None when there are none."""
    errors: list[tuple[str | None, SourceLocation | None, str]] = []
    total: int | None = None
    for line in ctx.lines:
        match = _PLAIN.match(line) or _PRETTY.match(line)
        if match:
            path, ln, col, code, message = match.groups()
            errors.append((path, location(path, ln, col), f"{code}: {message}"))
            continue
        glob = _GLOBAL.match(line)
        if glob:
            errors.append((None, None, f"{glob.group(1)}: {glob.group(2)}"))
            continue
        found = _FOUND.match(line)
        if found:
            total = int(found.group(1))
    if not errors:
        return None
    count = total if total is not None else len(errors)
    paths = [p for p, _, _ in errors if p]
    summary = f"tsc found {plural(count, 'error')}{where(paths, ctx.cwd)}"
    _, first_loc, first_message = errors[0]
    summary += first_detail(first_loc, first_message, paths, count, ctx.cwd)
    return make_failure("tsc", clip(first_message), summary, count, [loc for _, loc, _ in errors])
