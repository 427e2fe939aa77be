"""Maven: compiler errors and Surefire test failures.

The compiler plugin prints ``[ERROR] /abs/Foo.java:[7,28] message``. Surefire prints each failed
test as ``[ERROR] pkg.FooTest.method -- Time elapsed: ... <<< FAILURE!`` (or ``ERROR!``), the
exception, and a Java stack: the first frame in the user's classes (not ``java.``, JUnit, ...) is
where it failed. A frame names only ``Foo.java``; with the class's package it becomes
``pkg/Foo.java``, which the path resolution finds under ``src/test/java`` or ``src/main/java``.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, first_detail, location, make_failure, plural, where
from proactive_ls.sensing.terminal.text import clip

_COMPILE = re.compile(r"^\[ERROR\] ((?:[A-Za-z]:)?[^\s:\[][^:\[]*\.(?:java|kt|scala)):\[(\d+),(\d+)\] (.+)$")
_TEST = re.compile(r"^\[ERROR\] ([\w.$]+)\.([\w$\[\]]+)(?:\(.*?\))? -- Time elapsed: .* <<< (?:FAILURE|ERROR)!$")
_FRAME = re.compile(r"^\s+at ([\w.$]+)\.[\w$<>]+\(([\w$]+\.(?:java|kt|scala)):(\d+)\)$")
_COUNT = re.compile(r"^\[(?:ERROR|WARNING)\] Tests run: \d+, Failures: (\d+), Errors: (\d+)")
_PLATFORM = re.compile(
    r"^(?:java|javax|jdk|sun|com\.sun|kotlin|scala|org\.junit|junit|org\.opentest4j|org\.apache\.maven"
    r"|org\.assertj|org\.hamcrest|org\.mockito|org\.testng)\."
)


def _frame_location(cls: str, file: str, line: str) -> SourceLocation | None:
    package = cls.rsplit(".", 1)[0] if "." in cls else ""
    path = f"{package.replace('.', '/')}/{file}" if package else file
    return location(path, line)


def parse(ctx: Context) -> Failure | None:
    """What failed in a Maven build, or None."""
    if ctx.exit_code == 0:
        return None
    errors = []
    for line in ctx.lines:
        if m := _COMPILE.match(line):
            entry = (m.group(1), location(m.group(1), m.group(2), m.group(3)), m.group(4).strip())
            if entry not in errors:
                errors.append(entry)
    if errors:
        paths = [p for p, _, _ in errors]
        _, loc, message = errors[0]
        n = len(errors)
        summary = f"the build failed with {plural(n, 'compile error')}{where(paths, ctx.cwd)}"
        summary += first_detail(loc, message, paths, n, ctx.cwd)
        return make_failure("maven", message, summary, n, [loc for _, loc, _ in errors])
    tests: list[tuple[str, str, SourceLocation | None]] = []
    total: int | None = None
    current: int | None = None  # index of the test whose stack we are reading
    for line in ctx.lines:
        if m := _TEST.match(line):
            name = f"{m.group(1).rsplit('.', 1)[-1]}.{m.group(2)}"
            tests.append((name, "", None))
            current = len(tests) - 1
        elif current is not None and (m := _FRAME.match(line)):
            name, message, loc = tests[current]
            if loc is None and not _PLATFORM.match(m.group(1)):
                tests[current] = (name, message, _frame_location(m.group(1), m.group(2), m.group(3)))
        elif current is not None and line.strip() and not tests[current][1] and not line.startswith("["):
            name, _, loc = tests[current]
            tests[current] = (name, line.strip(), loc)
        elif line.startswith("[") and current is not None and not _TEST.match(line):
            current = None
        if m := _COUNT.match(line):
            total = int(m.group(1)) + int(m.group(2))
    if not tests:
        return None
    n = max(total or 0, len(tests))
    name, message, _ = tests[0]
    lead = "first: " if n > 1 else ""
    summary = f"{plural(n, 'test')} failed ({lead}{clip(f'{name}: {message}' if message else name, 110)})"
    return make_failure("maven", name, summary, n, [loc for _, _, loc in tests])
