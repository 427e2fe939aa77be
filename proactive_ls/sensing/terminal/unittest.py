"""unittest (``python -m unittest``, and runners that print its report such as Django's).

Each failure is a block opened by ``FAIL: test_x (module.Class.test_x)`` under a ``=====`` rule
and holding a Python traceback; ``FAILED (failures=2, errors=1)`` counts them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, make_failure, plural, where
from proactive_ls.sensing.terminal.python_traceback import crash_location, find_tracebacks
from proactive_ls.sensing.terminal.text import clip

_BLOCK = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^()\s]+)\)(.*)$")
_RULE = re.compile(r"^(?:={20,}|-{20,})$")
_RAN = re.compile(r"^Ran \d+ tests? in ")
_RESULT = re.compile(r"^FAILED \(([^()]*)\)$")
_COUNT = re.compile(r"(failures|errors|unexpected successes)=(\d+)")


class _Block:
    """One FAIL/ERROR report: the test's dotted id and the traceback lines below it."""

    def __init__(self, kind: str, method: str, where_: str, extra: str) -> None:
        self.kind = kind
        self.method = method
        self.import_failed = where_.startswith("unittest.loader._Failed")  # a module that did not import
        dotted = where_ if where_.endswith("." + method) else f"{where_}.{method}"
        self.test_id = (dotted + extra).strip()
        self.lines: list[str] = []

    def analyse(self) -> tuple[SourceLocation | None, str | None, str]:
        """(primary location, the test file, the exception line)."""
        tracebacks = find_tracebacks(self.lines)
        if not tracebacks:
            return None, None, ""
        test_file = next((f.path for tb in tracebacks for f in tb.frames if f.function == self.method), None)
        return crash_location(tracebacks), test_file, tracebacks[-1].exception


def _blocks(lines: Sequence[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: _Block | None = None
    for line in lines:
        match = _BLOCK.match(line)
        if match:
            current = _Block(match.group(1), match.group(2), match.group(3), match.group(4))
            blocks.append(current)
        elif _RAN.match(line) or (_RULE.match(line) and line.startswith("=")):
            current = None
        elif current is not None and not _RULE.match(line):
            current.lines.append(line)
    return blocks


def _counts(lines: Sequence[str]) -> dict[str, int] | None:
    """{"failures": 2, "errors": 1} from the closing ``FAILED (failures=2, errors=1)``."""
    for line in reversed(lines):
        match = _RESULT.match(line)
        if match:
            return {name: int(n) for name, n in _COUNT.findall(match.group(1))}
    return None


def parse(ctx: Context) -> Failure | None:
    """Failed and erroring tests of a unittest run, or None when it passed."""
    if not ctx.by_command and not any(_RAN.match(line) for line in ctx.lines):
        return None
    blocks = _blocks(ctx.lines)
    counts = _counts(ctx.lines)
    if counts is None:
        counts = {"failures": sum(b.kind != "ERROR" for b in blocks), "errors": sum(b.kind == "ERROR" for b in blocks)}
    n_errors = counts.get("errors", 0)
    n_fail = counts.get("failures", 0) + counts.get("unexpected successes", 0)
    failed = n_fail + n_errors
    if failed == 0:
        return None
    analysed = [(b, *b.analyse()) for b in blocks]
    parts = ([f"{plural(n_fail, 'test')} failed"] if n_fail else []) + ([plural(n_errors, "error")] if n_errors else [])
    files = [test_file or (loc.path if loc else None) for _, loc, test_file, _ in analysed]
    summary = " and ".join(parts) + where((f for f in files if f), ctx.cwd)
    if not analysed:
        return make_failure("unittest", summary, summary, failed, [])
    first, _, _, exception = analysed[0]
    detail = f"{first.method}: {exception}" if exception else first.method
    summary += f" ({'' if failed == 1 else 'first: '}{clip(detail, 110)})"
    title = (exception or f"could not import {first.method}") if first.import_failed else first.test_id
    return make_failure("unittest", title, summary, failed, [loc for _, loc, _, _ in analysed])
