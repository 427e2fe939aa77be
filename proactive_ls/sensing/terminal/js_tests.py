"""JavaScript test runners: node's built-in ``node --test`` (TAP and spec reporters), Jest, Vitest.

All three print one block per failed test: a header naming it, the error, and a V8 stack whose
first frame in the user's code (not ``node:internal``, not ``node_modules``) is where it failed,
the assertion in the test or the line of the code under test that threw.

- node TAP (piped): ``not ok 2 - name`` then an indented YAML block (``error:``, ``stack: |-``
  with frames without ``at``); a parent whose subtests failed says ``failureType: 'subtestsFailed'``.
- node spec (a terminal): ``✖ name (1.1ms)``, the error, ``at`` frames; the run ends with a
  ``✖ failing tests:`` section that repeats each failed test.
- Jest: ``● suite › test``, the error, a code frame, ``at fn (file:line:col)``.
- Vitest: `` FAIL  file > suite > test``, the error, `` ❯ [fn ]file:line:col`` frames.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, is_library_path, location, make_failure, plural, where
from proactive_ls.sensing.terminal.text import clip

_PLACE = re.compile(r"((?:file://)?(?:[A-Za-z]:)?[^\s():]+):(\d+):(\d+)\)?$")
_TAP_NOT_OK = re.compile(r"^(\s*)not ok \d+ - (.+?)(?: # .*)?$")
_TAP_FAIL_COUNT = re.compile(r"^# fail (\d+)$")
_SPEC_FAILED = re.compile(r"^(\s*)✖ (.+?) \(\d[\d.]*m?s\)$")
_SPEC_FAIL_COUNT = re.compile(r"^ℹ fail (\d+)$")
_JEST_HEADER = re.compile(r"^  ● (.+)$")
_JEST_COUNT = re.compile(r"^Tests:\s+(\d+) failed")
_VITEST_HEADER = re.compile(r"^ FAIL  (\S.*?) > (.+)$")
_VITEST_COUNT = re.compile(r"^\s+Tests\s+(\d+) failed")
_VITEST_FRAME = re.compile(r"^\s*❯ (?:\S+ )?(\S+:\d+:\d+)$")


@dataclass
class _Test:
    name: str
    message: str = ""
    location: SourceLocation | None = None
    declared: SourceLocation | None = None
    parent: bool = False
    frames: list[SourceLocation] = field(default_factory=list)

    def where(self) -> SourceLocation | None:
        return self.frames[0] if self.frames else self.location or self.declared


def _frame(text: str) -> SourceLocation | None:
    """The user-code location in one stack line, or None (not a frame, or a library frame)."""
    m = _PLACE.search(text.strip())
    if m is None:
        return None
    path = m.group(1).removeprefix("file://")
    return None if is_library_path(path) else location(path, m.group(2), m.group(3))


def _node_tap(lines: Sequence[str]) -> tuple[list[_Test], int | None]:
    tests: list[_Test] = []
    count: int | None = None
    current: _Test | None = None
    block = ""  # the YAML key whose indented value we are reading
    for line in lines:
        if m := _TAP_NOT_OK.match(line):
            current = _Test(m.group(2).strip())
            tests.append(current)
            block = ""
            continue
        if m := _TAP_FAIL_COUNT.match(line):
            count = int(m.group(1))
        if current is None:
            continue
        text = line.strip()
        if text.startswith("failureType: 'subtestsFailed'"):
            current.parent = True
        elif text.startswith("location: '"):
            m = _PLACE.search(text.rstrip("'"))
            if m:
                current.declared = location(m.group(1).removeprefix("file://"), m.group(2), m.group(3))
        elif text.startswith("error: ") and text not in ("error: |-", "error: >-", "error: |"):
            current.message = text[len("error: ") :].strip("'\"")
        elif text in ("error: |-", "error: >-", "error: |", "stack: |-", "stack: |"):
            block = text.split(":")[0]
        elif text == "...":
            current, block = None, ""
        elif block == "error" and text and not current.message:
            current.message = text
        elif block == "stack" and (frame := _frame(text)):
            current.frames.append(frame)
        elif re.match(r"^\w+: ", text):
            block = ""
    return [t for t in tests if not t.parent], count


def _node_spec(lines: Sequence[str]) -> tuple[list[_Test], int | None]:
    count = next((int(m.group(1)) for line in lines if (m := _SPEC_FAIL_COUNT.match(line))), None)
    start = next((i for i, line in enumerate(lines) if line.strip() == "✖ failing tests:"), 0)
    tests: list[_Test] = []
    current: _Test | None = None
    declared: SourceLocation | None = None
    for line in lines[start:]:
        if line.startswith("test at "):
            m = _PLACE.search(line)
            declared = location(m.group(1), m.group(2), m.group(3)) if m else None
        elif m := _SPEC_FAILED.match(line):
            current = _Test(m.group(2).strip(), declared=declared)
            tests.append(current)
            declared = None
        elif current is not None and line.strip():
            text = line.strip()
            if text.startswith("at "):
                if frame := _frame(text):
                    current.frames.append(frame)
            elif not current.message and not current.frames:
                current.message = text
    # a suite is listed with its failed tests; it has no error of its own
    return [t for t in tests if t.message or t.frames], count


def _jest(lines: Sequence[str]) -> tuple[list[_Test], int | None]:
    count = next((int(m.group(1)) for line in lines if (m := _JEST_COUNT.match(line))), None)
    tests: list[_Test] = []
    current: _Test | None = None
    for line in lines:
        if m := _JEST_HEADER.match(line):
            current = _Test(m.group(1).strip())
            tests.append(current)
        elif current is not None and (text := line.strip()):
            if text.startswith("at "):
                if frame := _frame(text):
                    current.frames.append(frame)
            elif not current.message:
                current.message = text
            elif text.startswith(("Test Suites:", "Tests:")):
                current = None
    return tests, count


def _vitest(lines: Sequence[str]) -> tuple[list[_Test], int | None]:
    count = next((int(m.group(1)) for line in lines if (m := _VITEST_COUNT.match(line))), None)
    tests: list[_Test] = []
    current: _Test | None = None
    for line in lines:
        if m := _VITEST_HEADER.match(line):
            current = _Test(f"{m.group(1)} > {m.group(2).strip()}")
            tests.append(current)
        elif current is not None and (text := line.strip()):
            if m := _VITEST_FRAME.match(line):
                if frame := _frame(m.group(1)):
                    current.frames.append(frame)
            elif text.startswith("⎯"):
                current = None
            elif not current.message:
                current.message = text
    return tests, count


def _failure(tool: str, runner: str, tests: list[_Test], count: int | None, ctx: Context) -> Failure:
    n = max(count or 0, len(tests))
    first = tests[0]
    locs = [t.where() for t in tests]
    paths = [loc.path for loc in locs if loc is not None]
    detail = f"{first.name}: {first.message}" if first.message else first.name
    lead = "first: " if n > 1 else ""
    summary = f"{plural(n, 'test')} failed{where(paths, ctx.cwd)} ({lead}{clip(detail, 110)})"
    return make_failure(tool, first.name, summary, n, locs)


def parse(ctx: Context) -> Failure | None:
    """The failed tests of a node --test, Jest or Vitest run, or None."""
    if ctx.exit_code == 0:
        return None
    readers = (("jest", _jest), ("vitest", _vitest), ("node", _node_spec), ("node", _node_tap))
    named = [r for r in readers if ctx.runs(r[0]) or (r[0] == "node" and _runs_node_test(ctx))]
    for tool, read in named + [r for r in readers if r not in named]:
        tests, count = read(ctx.lines)
        if tests and (count or _confident(tool, ctx)):
            return _failure(tool, tool, tests, count, ctx)
    return None


def _runs_node_test(ctx: Context) -> bool:
    node = ctx.runs("node")
    return node is not None and "--test" in node.args


def _confident(tool: str, ctx: Context) -> bool:
    """Without the runner's closing count, trust the blocks only when the command named the runner."""
    return bool(ctx.runs(tool)) or (tool == "node" and _runs_node_test(ctx))
