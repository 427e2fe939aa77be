"""Rust: rustc diagnostics (through cargo or alone) and failing or panicking tests and programs.

A diagnostic is ``error[E0308]: message`` with `` --> src/main.rs:5:13`` on the next line; cargo
closes with ``could not compile ... due to N previous errors``. A failing test prints
``---- name stdout ----`` and ``thread 'name' panicked at src/lib.rs:15:9:`` (older Rust:
``panicked at 'message', src/lib.rs:15:9``); ``test result: FAILED. 1 passed; 2 failed`` counts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import (
    Context,
    at,
    first_detail,
    is_library_path,
    location,
    make_failure,
    plural,
    where,
)
from proactive_ls.sensing.terminal.text import clip

_HEADER = re.compile(r"^(error|warning)(\[E\d+\])?: (.*)$")
_ARROW = re.compile(r"^\s*--> (.+?):(\d+):(\d+)$")
_NOT_A_DIAGNOSTIC = re.compile(
    r"^(?:could not compile|aborting due to|test failed, to rerun|\d+ targets? failed|build failed"
    r"|Recipe|process didn't exit|`[^`]*` \(.*\) generated)"
)
_PREVIOUS = re.compile(r"due to (\d+) previous errors?")
_STDOUT = re.compile(r"^---- (.+) stdout ----$")
_PANIC_NEW = re.compile(r"^thread '([^']*)'(?: \(\d+\))? panicked at (.+?):(\d+):(\d+):$")
_PANIC_OLD = re.compile(r"^thread '([^']*)'(?: \(\d+\))? panicked at '(.*)$")
_TAIL_LOCATION = re.compile(r"^(.+):(\d+):(\d+)$")
_BACKTRACE_AT = re.compile(r"^\s+at (.+?):(\d+):(\d+)$")
_FAILED_TEST = re.compile(r"^test (\S+) \.\.\. FAILED$")
_RESULT = re.compile(r"^test result: FAILED\. \d+ passed; (\d+) failed")


@dataclass
class _Panic:
    thread: str
    message: str
    location: SourceLocation | None


@dataclass
class _Report:
    errors: list[tuple[str, SourceLocation | None]] = field(default_factory=list)
    previous: int = 0
    panics: list[_Panic] = field(default_factory=list)
    failed_tests: list[str] = field(default_factory=list)
    failed_count: int = 0


def _read(lines: Sequence[str]) -> _Report:
    report = _Report()
    waiting_message: _Panic | None = None  # a new-style panic: its message is the next line
    for i, line in enumerate(lines):
        if waiting_message is not None:
            waiting_message.message = line.strip()
            waiting_message = None
            continue
        if m := _HEADER.match(line):
            severity, code, text = m.groups()
            if severity == "error":
                if _NOT_A_DIAGNOSTIC.match(text):
                    if p := _PREVIOUS.search(text):
                        report.previous += int(p.group(1))
                    continue
                arrow = _ARROW.match(lines[i + 1]) if i + 1 < len(lines) else None
                loc = location(*arrow.groups()) if arrow else None
                report.errors.append((f"error{code or ''}: {text}", loc))
        elif m := _PANIC_NEW.match(line):
            panic = _Panic(m.group(1), "", _user_location(m.group(2), m.group(3), m.group(4), lines, i))
            report.panics.append(panic)
            waiting_message = panic
        elif (m := _PANIC_OLD.match(line)) and "', " in m.group(2):
            message, _, tail = m.group(2).rpartition("', ")  # split by hand: a regex would backtrack
            if t := _TAIL_LOCATION.match(tail):
                place = _user_location(t.group(1), t.group(2), t.group(3), lines, i)
                report.panics.append(_Panic(m.group(1), message, place))
        elif m := _STDOUT.match(line) or _FAILED_TEST.match(line):
            if m.group(1) not in report.failed_tests:
                report.failed_tests.append(m.group(1))
        elif m := _RESULT.match(line):
            report.failed_count += int(m.group(1))
    return report


def _user_location(path: str, line: str, column: str, lines: Sequence[str], start: int) -> SourceLocation | None:
    """The panic's place, or, when it is inside a library, the first user frame of the backtrace."""
    if not is_library_path(path):
        return location(path, line, column)
    for text in lines[start + 1 : start + 200]:
        if m := _BACKTRACE_AT.match(text):
            if not is_library_path(m.group(1)):
                return location(*m.groups())
        elif text.startswith(("----", "thread '")):
            break
    return None


def parse(ctx: Context) -> Failure | None:
    """Compile errors, failed tests or a panic reported by cargo or rustc, or None."""
    report = _read(ctx.lines)
    tool = "rustc" if ctx.runs("rustc") and not ctx.runs("cargo") else "cargo"
    if report.failed_tests or report.failed_count:
        panics = {p.thread: p for p in report.panics}
        count = report.failed_count or len(report.failed_tests)
        entries = [(name, panics.get(name)) for name in report.failed_tests]
        locations = [p.location if p else None for _, p in entries]
        summary = f"{plural(count, 'test')} failed" + where((loc.path for loc in locations if loc), ctx.cwd)
        if entries:
            name, panic = entries[0]
            detail = f"{name}: {panic.message}" if panic and panic.message else name
            summary += f" ({'' if count == 1 else 'first: '}{clip(detail, 110)})"
            return make_failure(tool, name, summary, count, locations)
        return make_failure(tool, summary, summary, count, [])
    if report.errors and (ctx.by_command or any(loc for _, loc in report.errors)):
        count = max(report.previous, len(report.errors))
        paths = [loc.path for _, loc in report.errors if loc]
        message, first_loc = report.errors[0]
        summary = f"the build failed with {plural(count, 'error')}{where(paths, ctx.cwd)}"
        summary += first_detail(first_loc, message, paths, count, ctx.cwd)
        return make_failure(tool, message, summary, count, [loc for _, loc in report.errors])
    if report.panics and (ctx.by_command or ctx.exit_code not in (0, None)):
        panic = report.panics[0]
        summary = f"the program panicked with '{clip(panic.message, 110)}'{at(panic.location, ctx.cwd)}"
        return make_failure(tool, f"panic: {panic.message}", summary, 1, [panic.location])
    return None
