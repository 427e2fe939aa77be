"""Java: javac compile errors, and the stack trace of a program that died with an exception.

javac prints ``src/Main.java:8: error: message``, the source line and a caret, and closes with
``2 errors``; it prints no column. A crash prints ``Exception in thread "main" Type: message`` and
``at Class.method(File.java:3)`` frames, innermost first.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, at, first_detail, location, make_failure, plural, where
from proactive_ls.sensing.terminal.text import clip

_DIAGNOSTIC = re.compile(r"^((?:[A-Za-z]:)?[^\s:][^:]*\.java):(\d+): error: (.*)$")
_TOTAL = re.compile(r"^(\d+) errors?$")
_EXCEPTION = re.compile(r'^Exception in thread "[^"]*" (\S.*)$')
_FRAME = re.compile(r"^\s+at ([\w$.<>/]+)\(([^():]+\.java):(\d+)\)$")
_PLATFORM = ("java.", "javax.", "jdk.", "sun.", "com.sun.", "kotlin.", "scala.", "org.junit.")


def _crash(ctx: Context) -> Failure | None:
    exception: str | None = None
    loc: SourceLocation | None = None
    for line in ctx.lines:
        if m := _EXCEPTION.match(line):
            exception, loc = m.group(1), None
        elif exception and loc is None and (m := _FRAME.match(line)):
            method = m.group(1).rsplit("/", 1)[-1]  # "java.base/java.util.List.of" -> module stripped
            if not method.startswith(_PLATFORM):
                loc = location(m.group(2), m.group(3))
    if exception is None:
        return None
    summary = f"the program crashed with {clip(exception, 110)}{at(loc, ctx.cwd)}"
    return make_failure("java", exception, summary, 1, [loc])


def parse(ctx: Context) -> Failure | None:
    """javac's compile errors or a Java program's uncaught exception, or None."""
    errors: list[tuple[str, SourceLocation | None, str]] = []
    total: int | None = None
    for line in ctx.lines:
        if m := _DIAGNOSTIC.match(line):
            errors.append((m.group(1), location(m.group(1), m.group(2)), m.group(3)))
        elif m := _TOTAL.match(line):
            total = int(m.group(1))
    if not errors:
        return _crash(ctx) if ctx.exit_code != 0 else None
    count = total if total is not None else len(errors)
    paths = [p for p, _, _ in errors]
    _, first_loc, first_message = errors[0]
    summary = f"the build failed with {plural(count, 'error')}{where(paths, ctx.cwd)}"
    summary += first_detail(first_loc, first_message, paths, count, ctx.cwd)
    return make_failure("javac", first_message, summary, count, [loc for _, loc, _ in errors])
