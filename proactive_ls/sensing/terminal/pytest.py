"""pytest: failed tests, errors in fixtures, and errors while collecting test modules.

The short test summary ("FAILED path::test - message") names every failure in order and the final
stats line counts them; the FAILURES/ERRORS sections add where each one happened. The location is
the deepest frame in the user's project, whatever the --tb style (long, short, line, native).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import (
    Context,
    display_path,
    is_library_path,
    location,
    make_failure,
    plural,
    where,
)
from proactive_ls.sensing.terminal.python_traceback import EXCEPTION, FRAME
from proactive_ls.sensing.terminal.text import clip

_SECTION = re.compile(r"^=+ (.+?) =+$")  # "=== FAILURES ===", "=== short test summary info ===", ...
_ITEM = re.compile(r"^(FAILED|ERROR) (.+?)(?: - (.*))?$")
_STATS = re.compile(r"^=* ?\d+ [a-z]+.* in \d+(?:\.\d+)?s\b")
_COUNT = re.compile(r"(\d+) (failed|errors?|passed)\b")
# "tests/test_x.py:42: AssertionError", "calc/io.py:6: in read_numbers", "/abs/x.py:8: assert 1 == 2"
_TB_LOCATION = re.compile(r"^((?:[A-Za-z]:)?[^\s:][^:]*):(\d+):(?: (.*))?$")
_E_LINE = re.compile(r"^E(?:\s+(.*))?$")
_CONFTEST = re.compile(r"^ImportError while loading conftest '(.+)'\.$")
_USAGE = re.compile(r"^ERROR: (.+)$")


@dataclass
class _Block:
    """One entry of the FAILURES or ERRORS section."""

    header: str
    locations: list[SourceLocation] = field(default_factory=list)
    errors: list[list[str]] = field(default_factory=list)  # groups of consecutive "E   ..." lines

    def add(self, path: str, line: str) -> None:
        loc = location(path, line)
        if loc is not None:
            self.locations.append(loc)

    def primary(self) -> SourceLocation | None:
        for loc in reversed(self.locations):
            if not is_library_path(loc.path):
                return loc
        return None

    def message(self) -> str:
        """The exception of the last "E" group, e.g. "ValueError: empty input" or "assert 4 == 3"."""
        if not self.errors:
            return ""
        group = self.errors[-1]
        for text in group:
            if EXCEPTION.match(text) and ":" in text:
                return text
        return group[0]


@dataclass(frozen=True)
class _Item:
    kind: str  # FAILED or ERROR
    node: str
    message: str

    @property
    def path(self) -> str:
        return self.node.split("::", 1)[0]

    @property
    def name(self) -> str:
        """The name pytest prints in a section header: 'TestX.test_y[1-2]' for 'f.py::TestX::test_y[1-2]'."""
        return ".".join(self.node.split("::")[1:])


def _header(line: str) -> str | None:
    """'____ test_add ____' -> 'test_add'; the '_ _ _' separators between frames are not headers."""
    if len(line) < 8 or not line.startswith("___") or not line.endswith("___"):
        return None
    inner = line.strip("_").strip()
    return inner or None


def _scan(block: _Block, line: str, prev_e: bool) -> bool:
    """Add one traceback line to ``block``; returns whether it was an "E" line."""
    e_line = _E_LINE.match(line)
    if e_line:
        text = (e_line.group(1) or "").strip()
        frame = FRAME.match(text)
        if frame:  # a SyntaxError shows its file inside the "E" lines
            block.add(frame.group(1), frame.group(2))
        if prev_e:
            block.errors[-1].append(text)
        else:
            block.errors.append([text])
        return True
    match = FRAME.match(line) or _TB_LOCATION.match(line)  # --tb=native prints Python's own frames
    if match and ("." in match.group(1) or "/" in match.group(1)):
        block.add(match.group(1), match.group(2))
    return False


def _blocks(lines: Sequence[str]) -> list[_Block]:
    """The entries of the FAILURES and ERRORS sections, with their locations and "E" lines."""
    blocks: list[_Block] = []
    current: _Block | None = None
    in_section = captured = prev_e = False
    for line in lines:
        section = _SECTION.match(line)
        if section:
            in_section = section.group(1) in ("FAILURES", "ERRORS")
            current = None
            continue
        if not in_section:
            continue
        header = _header(line)
        if header is not None:
            current, captured, prev_e = _Block(header), False, False
            blocks.append(current)
            continue
        if captured or (line.startswith("---") and " Captured " in line):
            captured = True  # the test's own printed output follows: not pytest's traceback
            continue
        if current is None:  # --tb=line: no headers, one location line per failure
            current = _Block("")
            blocks.append(current)
        before = len(current.locations)
        prev_e = _scan(current, line, prev_e)
        if not current.header and not prev_e and len(current.locations) > before:
            current = None  # --tb=line: this failure is complete
    return blocks


def _startup_error(ctx: Context) -> Failure | None:
    """pytest stopped before running tests: a conftest that fails to import, or a usage error."""
    for i, line in enumerate(ctx.lines):
        conftest = _CONFTEST.match(line)
        if conftest:
            block, prev_e = _Block("conftest"), False
            for rest in ctx.lines[i + 1 :]:
                prev_e = _scan(block, rest, prev_e)
            message = block.message() or line
            summary = f"pytest could not load '{display_path(conftest.group(1), ctx.cwd)}' ({clip(message, 110)})"
            return make_failure("pytest", message, summary, 1, [block.primary()])
        usage = _USAGE.match(line)
        if usage and ctx.by_command:
            return make_failure("pytest", usage.group(1), f"pytest could not run: {clip(usage.group(1), 110)}", 1, [])
    return None


def _items(lines: Sequence[str]) -> list[_Item]:
    """The "short test summary info" entries, in the order pytest lists them."""
    items: list[_Item] = []
    in_summary = False
    for line in lines:
        section = _SECTION.match(line)
        if section:
            in_summary = section.group(1) == "short test summary info"
            continue
        if in_summary:
            match = _ITEM.match(line)
            if match:
                items.append(_Item(match.group(1), match.group(2), (match.group(3) or "").strip()))
    return items


def _stats(lines: Sequence[str]) -> dict[str, int] | None:
    """Counts from the last "N failed, M passed, K errors in 0.12s" line, if there is one."""
    for line in reversed(lines):
        if _STATS.match(line):
            counts: dict[str, int] = {}
            for number, word in _COUNT.findall(line):
                key = "error" if word.startswith("error") else word
                counts[key] = counts.get(key, 0) + int(number)
            return counts
    return None


def _match(items: Sequence[_Item], blocks: Sequence[_Block]) -> list[_Block | None]:
    """The section entry of each summary item: by header name, else the next unclaimed one."""
    by_header: dict[str, _Block] = {}
    for block in blocks:
        by_header.setdefault(block.header, block)
    chosen: list[_Block | None] = []
    for item in items:
        if item.kind == "FAILED":
            keys = [item.name]
        else:
            keys = [f"ERROR at {when} of {item.name}" for when in ("setup", "teardown")]
            keys.append(f"ERROR collecting {item.node}")
        chosen.append(next((by_header[k] for k in keys if k and k in by_header), None))
    spare = [b for b in blocks if all(b is not c for c in chosen)]
    return [c if c is not None else (spare.pop(0) if spare and not spare[0].header else None) for c in chosen]


@dataclass(frozen=True)
class _Entry:
    kind: str
    node: str
    short: str
    path: str | None
    location: SourceLocation | None
    message: str

    @property
    def collecting(self) -> bool:
        return self.kind == "ERROR" and "::" not in self.node


def _entries(items: Sequence[_Item], blocks: Sequence[_Block]) -> list[_Entry]:
    if items:
        out = []
        for item, block in zip(items, _match(items, blocks), strict=True):
            message = item.message
            if block is not None and (not message or message.endswith("...")):
                message = block.message() or message
            short = item.name or item.node
            out.append(_Entry(item.kind, item.node, short, item.path, block.primary() if block else None, message))
        return out
    entries = []
    for block in blocks:
        loc = block.primary()
        kind = "ERROR" if block.header.startswith("ERROR") else "FAILED"
        name = block.header.removeprefix("ERROR at setup of ").removeprefix("ERROR at teardown of ")
        name = name.removeprefix("ERROR collecting ")
        entries.append(_Entry(kind, name, name, loc.path if loc else None, loc, block.message()))
    return entries


def _looks_like_pytest(lines: Sequence[str]) -> bool:
    return any(
        (line.startswith("=") and ("test session starts" in line or "short test summary info" in line))
        or _CONFTEST.match(line)
        for line in lines
    )


def parse(ctx: Context) -> Failure | None:
    """Failed tests and errors of a pytest run, or None when everything passed."""
    lines = ctx.lines
    if not ctx.by_command and not _looks_like_pytest(lines):
        return None
    stats = _stats(lines)
    entries = _entries(_items(lines), _blocks(lines))
    if stats is None and not entries:
        return _startup_error(ctx)
    n_failed = stats.get("failed", 0) if stats else sum(e.kind == "FAILED" for e in entries)
    n_errors = stats.get("error", 0) if stats else sum(e.kind == "ERROR" for e in entries)
    if n_failed + n_errors == 0:
        return _startup_error(ctx) if ctx.exit_code not in (0, 5) else None
    parts = []
    if n_failed:
        parts.append(f"{plural(n_failed, 'test')} failed")
    if n_errors:
        collecting = not n_failed and entries and all(e.collecting for e in entries)
        parts.append(plural(n_errors, "error") + (" while collecting tests" if collecting else ""))
    summary = " and ".join(parts) + where((e.path for e in entries if e.path), ctx.cwd)
    if not entries:
        return make_failure("pytest", summary, summary, n_failed + n_errors, [])
    first = entries[0]
    detail = first.message if first.collecting else first.short + (f": {first.message}" if first.message else "")
    summary += f" ({'' if n_failed + n_errors == 1 else 'first: '}{clip(detail, 110)})"
    title = (first.message or f"error collecting {first.node}") if first.collecting else first.node
    return make_failure("pytest", title, summary, n_failed + n_errors, [e.location for e in entries])
