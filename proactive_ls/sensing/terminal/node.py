"""Node.js: a script that died with an uncaught exception.

Node prints ``/path/app.js:3`` with the source line and a caret, then ``TypeError: message`` and
V8 ``at fn (/path/file.js:2:16)`` frames, innermost first; frames in ``node:internal`` or
``node_modules`` are not the user's code.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, at, is_library_path, location, make_failure
from proactive_ls.sensing.terminal.text import clip

_ERROR = re.compile(r"^((?:[A-Z]\w*)?(?:Error|Exception)|Uncaught \w+)(?: \[\w+\])?: (.*)$|^((?:[A-Z]\w*)?Error)$")
_PLACE = re.compile(r"^(.+):(\d+):(\d+)$")
_VERSION = re.compile(r"^Node\.js v\d+")


def _frame_place(line: str) -> tuple[str, str, str] | None:
    """(path, line, column) of a V8 frame: ``at fn (/a.js:2:16)`` or ``at /a.js:2:16``."""
    text = line.strip()
    if not text.startswith("at "):
        return None
    text = text[3:]
    if text.endswith(")") and "(" in text:
        text = text[text.rfind("(") + 1 : -1]  # by hand: a regex here could backtrack badly
    m = _PLACE.match(text)
    return (m.group(1).removeprefix("file://"), m.group(2), m.group(3)) if m else None


def parse(ctx: Context) -> Failure | None:
    """The uncaught exception that ended a Node.js process, or None."""
    if ctx.exit_code == 0:
        return None
    if not ctx.by_command and not any(_VERSION.match(line) for line in ctx.lines):
        return None
    error: str | None = None
    loc: SourceLocation | None = None
    for line in ctx.lines:
        if _ERROR.match(line):
            error, loc = line.strip(), None
        elif error and loc is None and (place := _frame_place(line)):
            path, ln, col = place
            if not is_library_path(path):
                loc = location(path, ln, col)
    if error is None:
        return None
    summary = f"the script crashed with {clip(error, 110)}{at(loc, ctx.cwd)}"
    return make_failure("node", error, summary, 1, [loc])
