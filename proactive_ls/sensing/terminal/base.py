"""What every parser shares: the parsing context, "is this frame the user's code?", and phrasing.

Parsers are plain functions ``parse(ctx) -> Failure | None``; they differ only in the tool's output
format, so the wording of summaries and the choice of the primary location live here, once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.command import Invocation
from proactive_ls.sensing.terminal.text import clip

MAX_LOCATIONS = 20


@dataclass(frozen=True)
class Context:
    """One finished command: its clean output lines and what we know about how it was run."""

    command_line: str
    lines: Sequence[str]
    exit_code: int | None
    cwd: str | None
    invocations: tuple[Invocation, ...]
    by_command: bool = False
    """True when the command line named this parser's tool, so its output may be read leniently."""

    def runs(self, *programs: str) -> Invocation | None:
        """The first invocation of one of ``programs``, if the command line has one."""
        for inv in self.invocations:
            if inv.program in programs:
                return inv
        return None


# Code that is not the user's: installed packages, the standard libraries and runtimes of each
# language, and pseudo-files. A failure "in" such a file is reported at the user's caller instead.
_LIBRARY = re.compile(
    r"site-packages|dist-packages|[/\\]lib[/\\]python\d[\d.]*[/\\]|[/\\]Lib[/\\]|^<|^node:|node_modules"
    r"|^/usr/include/|^/usr/lib/gcc/|/include/c\+\+/|^/rustc/|[/\\]\.cargo[/\\]registry[/\\]|[/\\]\.rustup[/\\]"
    r"|[/\\]pkg[/\\]mod[/\\]|[/\\]go(?:-?\d[\d.]*)?[/\\]src[/\\][^/\\.]+[/\\]|[/\\]libexec[/\\]src[/\\]"
)


def is_library_path(path: str) -> bool:
    """Whether ``path`` belongs to an installed package, a standard library or a runtime."""
    return bool(_LIBRARY.search(path))


def display_path(path: str, cwd: str | None) -> str:
    """The path as a person would say it: relative to the working directory when it is inside it."""
    if cwd and os.path.isabs(path):
        root = cwd.rstrip("/\\")
        if path.startswith((root + "/", root + "\\")):
            return path[len(root) + 1 :]
    return path.removeprefix("./")


def plural(n: int, word: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def where(paths: Iterable[str], cwd: str | None) -> str:
    """`` in 'a.py'`` or `` in 3 files`` (empty when no path is known)."""
    unique = list(dict.fromkeys(display_path(p, cwd) for p in paths))
    if not unique:
        return ""
    if len(unique) == 1:
        return f" in '{unique[0]}'"
    return f" in {len(unique)} files"


def at(location: SourceLocation | None, cwd: str | None) -> str:
    """`` at 'app.py' line 12`` (empty without a location)."""
    if location is None:
        return ""
    return f" at '{display_path(location.path, cwd)}' line {location.line}"


def first_detail(
    location: SourceLocation | None, message: str, paths: Sequence[str], count: int, cwd: str | None
) -> str:
    """`` (first at line 6: message)``, `` (first in 'b.py' line 6: message)``, `` (at line 6: message)``.

    ``paths`` are the files of all the problems: with one file the summary already names it.
    """
    text = clip(message, 100)
    first = "first " if count > 1 else ""
    if location is None:
        return f" ({first.strip()}: {text})" if first else f" ({text})"
    if len(set(paths)) <= 1:
        return f" ({first}at line {location.line}: {text})"
    return f" ({first}in '{display_path(location.path, cwd)}' line {location.line}: {text})"


def make_failure(
    tool: str,
    title: str,
    summary: str,
    failed: int,
    locations: Iterable[SourceLocation | None],
    primary: SourceLocation | None = None,
) -> Failure:
    """A Failure with the locations de-duplicated, bounded, and the primary one defaulted to the first."""
    unique: list[SourceLocation] = []
    for loc in locations:
        if loc is not None and loc not in unique:
            unique.append(loc)
            if len(unique) == MAX_LOCATIONS:
                break
    return Failure(
        tool=tool,
        title=clip(title) or tool,
        summary=summary,
        failed=max(failed, 0),
        location=primary if primary is not None else (unique[0] if unique else None),
        locations=unique,
    )


def location(path: str, line: str | int, column: str | int | None = None) -> SourceLocation | None:
    """A SourceLocation from matched text, or None when the numbers are not 1-based positions."""
    try:
        ln = int(line)
        col = int(column) if column not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if ln < 1 or not path:
        return None
    return SourceLocation(path=path, line=ln, column=col if col is not None and col >= 1 else None)
