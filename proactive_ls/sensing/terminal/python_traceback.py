"""Python tracebacks: a crashed script, a chained exception, a SyntaxError, an exception group.

The last traceback printed is the one that ended the program (earlier ones are its causes); its
location is the deepest frame in the user's own code, because a frame inside a library or the
standard library is where the error surfaced, not where the user can fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, at, is_library_path, location, make_failure
from proactive_ls.sensing.terminal.text import clip

HEADER = re.compile(r"^[ +]*(?:Exception Group )?Traceback \(most recent call last\):$")
FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+)(?:, in (.+))?$')
EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*)(?::(?: .*)?)?$")
_GROUP_PREFIX = re.compile(r"^ *\| ")
_SYNTAX = ("SyntaxError", "IndentationError", "TabError")


@dataclass(frozen=True)
class Frame:
    """One ``File "path", line N, in function`` entry."""

    path: str
    line: int
    function: str | None


@dataclass
class Traceback:
    """The frames of one traceback, outermost first, and the exception line that closes it."""

    frames: list[Frame] = field(default_factory=list)
    exception: str = ""

    @property
    def exception_name(self) -> str:
        return self.exception.split(":", 1)[0].rsplit(".", 1)[-1]


def _ungroup(line: str) -> str:
    """Exception groups indent their tracebacks behind ``  | ``; drop that margin."""
    return _GROUP_PREFIX.sub("", line, count=1) if "|" in line[:16] else line


def find_tracebacks(lines: Sequence[str]) -> list[Traceback]:
    """Every complete traceback in ``lines``, in order; a bare SyntaxError report counts as one."""
    found: list[Traceback] = []
    current: Traceback | None = None
    for raw in lines:
        line = _ungroup(raw)
        if HEADER.match(line):
            current = Traceback()
            found.append(current)
            continue
        frame = FRAME.match(line)
        if frame:
            if current is None or current.exception:
                if frame.group(3) is not None:
                    continue  # a stray frame, e.g. from a log line: not a traceback
                current = Traceback()  # "  File "x.py", line 2" alone opens a SyntaxError report
                found.append(current)
            current.frames.append(Frame(frame.group(1), int(frame.group(2)), frame.group(3)))
            continue
        if current is None or current.exception or not line or line[0].isspace():
            continue
        if current.frames and EXCEPTION.match(line):
            current.exception = line.strip()
        else:
            current = None
    return [tb for tb in found if tb.exception]


def user_frame(frames: Sequence[Frame]) -> Frame | None:
    """The deepest frame that is the user's code (not site-packages, the stdlib or '<frozen ...>')."""
    for frame in reversed(frames):
        if not is_library_path(frame.path):
            return frame
    return None


def crash_location(tracebacks: Sequence[Traceback]) -> SourceLocation | None:
    """Where the user can fix the last exception: its deepest user frame, else one of its causes'."""
    for tb in reversed(tracebacks):
        frame = user_frame(tb.frames)
        if frame is not None:
            return location(frame.path, frame.line)
    return None


def parse(ctx: Context) -> Failure | None:
    """A crash report for a Python process that ended with an uncaught exception."""
    if ctx.exit_code == 0:
        return None  # a traceback that was logged and handled is not a crash
    tracebacks = find_tracebacks(ctx.lines)
    if not tracebacks:
        return None
    last = tracebacks[-1]
    loc = crash_location(tracebacks)
    python = ctx.runs("python")
    subject = "the script" if python and any(a.endswith(".py") for a in python.args) else "the program"
    error = clip(last.exception, 110)
    if last.exception_name in _SYNTAX:
        summary = f"{subject} did not start because of {error}{at(loc, ctx.cwd)}"
    else:
        summary = f"{subject} crashed with {error}{at(loc, ctx.cwd)}"
    return make_failure("python", last.exception, summary, 1, [loc])
