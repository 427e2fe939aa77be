"""The go command: ``go build``/``vet`` diagnostics, ``go test`` failures and panics.

Compile and vet errors are ``./main.go:10:11: message`` under a ``# package`` line (``vet: `` in
front when vet's own type check failed). ``go test`` prints ``--- FAIL: TestX`` (nested for
subtests) with the test's ``file_test.go:22: message`` log lines, and a panic prints a goroutine
stack whose first frame in the user's code is the location.

A test's log line names the file relative to its *package* directory, and the package is only
named after the tests, on ``FAIL\timport/path``. Run from the module root (``go test ./...``) that
bare name does not exist: with the module's go.mod (found from the working directory up) the
import path becomes the package's directory, so the location is ``words/words_test.go``.
"""

from __future__ import annotations

import os
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

_DIAGNOSTIC = re.compile(r"^(?:vet: )?((?:[A-Za-z]:)?[^\s:][^:]*\.go):(\d+)(?::(\d+))?: (.*)$")
_FAIL = re.compile(r"^\s*--- FAIL: (\S+) \(")
_RUN = re.compile(r"^=== (?:RUN|CONT|NAME)\s+(\S+)$")
_LOG = re.compile(r"^\s+((?:[A-Za-z]:)?[^\s:][^:]*\.go):(\d+): (.*)$")
_PANIC = re.compile(r"^panic: (.*?)(?: \[recovered\])?$")
_STACK = re.compile(r"^\t((?:[A-Za-z]:)?[^\s:][^:]*\.go):(\d+)(?: \+0x[0-9a-f]+)?$")
_PACKAGE_FAILED = re.compile(r"^FAIL\t(\S+)(?:\t| \[)")
_PACKAGE_DONE = re.compile(r"^(?:ok  |FAIL|\?   )\t(\S+)(?:\t| \[)")
_MODULE = re.compile(r"^module\s+\"?([^\s\"]+)", re.MULTILINE)


@dataclass
class _Report:
    """Everything of interest in one go command's output."""

    failed_tests: list[str] = field(default_factory=list)
    test_log: dict[str, tuple[SourceLocation | None, str]] = field(default_factory=dict)
    panics: list[tuple[str | None, str, SourceLocation | None]] = field(default_factory=list)
    diagnostics: list[tuple[str, SourceLocation | None, str]] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    package_of: dict[str, str] = field(default_factory=dict)
    """test name -> import path of the package it ran in (named on the line after its output)"""

    def leaves(self) -> list[str]:
        """Failed tests without a failed subtest: a parent fails only because a child did."""
        names = self.failed_tests
        return [n for n in dict.fromkeys(names) if not any(o.startswith(n + "/") for o in names)]


def _read(lines: Sequence[str]) -> _Report:
    report = _Report()
    current: str | None = None
    panic_open: int | None = None  # index into report.panics still waiting for its user frame
    waiting: list[str] = []  # failed tests whose package is not named yet
    for line in lines:
        if m := _PACKAGE_DONE.match(line):
            for name in waiting:
                report.package_of.setdefault(name, m.group(1))
            waiting = []
        if (m := _RUN.match(line)) or (m := _FAIL.match(line)):
            current = m.group(1)
            if line.lstrip().startswith("--- FAIL"):
                report.failed_tests.append(current)
                waiting.append(current)
        elif m := _LOG.match(line):
            if current is not None and current not in report.test_log:
                report.test_log[current] = (location(m.group(1), m.group(2)), m.group(3).strip())
        elif m := _PANIC.match(line):
            if not (report.panics and report.panics[-1][1] == m.group(1)):
                report.panics.append((current, m.group(1), None))
                panic_open = len(report.panics) - 1
        elif (m := _STACK.match(line)) and panic_open is not None:
            if not is_library_path(m.group(1)):
                test, message, _ = report.panics[panic_open]
                report.panics[panic_open] = (test, message, location(m.group(1), m.group(2)))
                panic_open = None
        elif m := _DIAGNOSTIC.match(line):
            report.diagnostics.append((m.group(1), location(m.group(1), m.group(2), m.group(3)), m.group(4)))
        elif m := _PACKAGE_FAILED.match(line):
            report.packages.append(m.group(1))
    return report


def _module(cwd: str | None) -> tuple[str, str] | None:
    """(module path, module root) of the go.mod at or above ``cwd``, if one is readable."""
    if not cwd or not os.path.isabs(cwd):
        return None
    here = cwd
    for _ in range(32):
        try:
            with open(os.path.join(here, "go.mod"), encoding="utf-8", errors="replace") as f:
                text = f.read(65536)
        except OSError:
            parent = os.path.dirname(here)
            if parent == here:
                return None
            here = parent
            continue
        m = _MODULE.search(text)
        return (m.group(1), here) if m else None
    return None


def _in_package(loc: SourceLocation | None, package: str | None, cwd: str | None) -> SourceLocation | None:
    """A test log location, whose path is relative to its package directory, made relative to ``cwd``."""
    if loc is None or package is None or os.path.dirname(loc.path) or os.path.isabs(loc.path):
        return loc
    module = _module(cwd)
    if module is None or not (package == module[0] or package.startswith(module[0] + "/")):
        return loc
    directory = os.path.join(module[1], package[len(module[0]) + 1 :])
    full = os.path.join(directory, loc.path)
    assert cwd is not None
    rel = os.path.relpath(full, cwd)
    return loc.model_copy(update={"path": rel if not rel.startswith("..") else full})


def _tests_failed(report: _Report, leaves: list[str], cwd: str | None) -> Failure:
    panics = {test: (message, loc) for test, message, loc in report.panics if test}
    entries: list[tuple[str, SourceLocation | None, str]] = []
    for name in leaves:
        loc, message = report.test_log.get(name, (None, ""))
        loc = _in_package(loc, report.package_of.get(name) or report.package_of.get(name.split("/")[0]), cwd)
        if name in panics:
            message = f"panic: {panics[name][0]}"
            loc = panics[name][1] or loc
        entries.append((name, loc, message))
    packages = list(dict.fromkeys(report.packages))
    in_packages = f" in {len(packages)} packages" if len(packages) > 1 else ""
    if len(packages) == 1:
        in_packages = f" in package '{packages[0]}'"
    name, _, message = entries[0]
    detail = f"{name}: {message}" if message else name
    first = "" if len(leaves) == 1 else "first: "
    summary = f"{plural(len(leaves), 'test')} failed{in_packages} ({first}{clip(detail, 110)})"
    return make_failure("go", name, summary, len(leaves), [loc for _, loc, _ in entries])


def parse(ctx: Context) -> Failure | None:
    """What made a go command fail, or None when nothing did."""
    report = _read(ctx.lines)
    leaves = report.leaves()
    if leaves:
        return _tests_failed(report, leaves, ctx.cwd)
    if report.diagnostics:
        go = ctx.runs("go")
        verb = go.args[0] if go and go.args else ""
        n = len(report.diagnostics)
        if verb == "vet":
            lead = f"go vet found {plural(n, 'problem')}"
        elif verb == "test":
            lead = f"the tests did not build: {plural(n, 'error')}"
        else:
            lead = f"the build failed with {plural(n, 'error')}"
        paths = [p for p, _, _ in report.diagnostics]
        _, first_loc, first_message = report.diagnostics[0]
        summary = lead + where(paths, ctx.cwd) + first_detail(first_loc, first_message, paths, n, ctx.cwd)
        return make_failure("go", first_message, summary, n, [loc for _, loc, _ in report.diagnostics])
    if report.panics and (ctx.by_command or any(line.startswith("goroutine ") for line in ctx.lines)):
        _, message, loc = report.panics[0]
        summary = f"the program panicked with {clip(message, 110)}{at(loc, ctx.cwd)}"
        return make_failure("go", f"panic: {message}", summary, 1, [loc])
    return None
