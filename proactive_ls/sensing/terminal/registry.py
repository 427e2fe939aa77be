"""Choose the parser: first the tools the command line names, then any whose output shape matches.

Naming comes first because it is cheap and certain (``pytest -x`` is pytest even when it crashed);
the shape is the fallback for wrappers (``make``, ``npm test``, ``./ci.sh``). Shape sniffing runs
the most specific formats first, so a pytest run is never read as a bare Python traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from proactive_ls.events import Failure
from proactive_ls.sensing.terminal import (
    cargo,
    eslint,
    gcc,
    go,
    javac,
    js_tests,
    maven,
    mypy,
    node,
    pytest,
    python_lint,
    python_traceback,
    tsc,
    unittest,
)
from proactive_ls.sensing.terminal.base import Context
from proactive_ls.sensing.terminal.command import invocations
from proactive_ls.sensing.terminal.text import prepare_lines


@dataclass(frozen=True)
class Parser:
    """A parser and the program names that tell us, from the command line alone, that it applies."""

    name: str
    programs: frozenset[str]
    parse: Callable[[Context], Failure | None]


def _programs(*names: str) -> frozenset[str]:
    return frozenset(names)


# Most specific output shape first: this is also the sniffing order.
PARSERS: tuple[Parser, ...] = (
    Parser("pytest", _programs("pytest", "py.test"), pytest.parse),
    Parser("unittest", _programs("unittest"), unittest.parse),
    Parser("cargo", _programs("cargo", "rustc"), cargo.parse),
    Parser("go", _programs("go"), go.parse),
    Parser("mypy", _programs("mypy", "dmypy"), mypy.parse),
    Parser("python-lint", _programs("ruff", "flake8"), python_lint.parse),
    Parser("tsc", _programs("tsc", "vue-tsc", "tsgo"), tsc.parse),
    Parser("eslint", _programs("eslint"), eslint.parse),
    Parser("maven", _programs("mvn", "mvnw"), maven.parse),
    Parser("javac", _programs("javac", "java"), javac.parse),
    Parser("gcc", gcc.PROGRAMS, gcc.parse),
    Parser("js-tests", _programs("jest", "vitest"), js_tests.parse),
    Parser("node", _programs("node", "nodejs", "ts-node", "tsx"), node.parse),
    Parser("python", _programs("python"), python_traceback.parse),
)


GENERIC = frozenset({"python", "node"})
"""Runtimes whose scripts often run another tool (``python manage.py test``, ``node build.js``):
their crash parsers are tried only after every specific format had its chance."""


def _named(ctx: Context) -> list[Parser]:
    named: list[Parser] = []
    for inv in ctx.invocations:
        for parser in PARSERS:
            claims = inv.program in parser.programs or (parser.name == "gcc" and gcc.is_compiler(inv.program))
            if claims and parser not in named:
                named.append(parser)
    return named


def parse(command_line: str, output: str, exit_code: int | None, cwd: str | None = None) -> Failure | None:
    """The Failure that ``output`` reports, or None; may raise on a parser bug (tests call this)."""
    ctx = Context(
        command_line=command_line,
        lines=prepare_lines(output),
        exit_code=exit_code,
        cwd=cwd,
        invocations=invocations(command_line),
    )
    named = _named(ctx)
    attempts = [(p, True) for p in named if p.name not in GENERIC]
    if exit_code != 0:  # a command that succeeded only fails if its own tool says so
        attempts += [(p, False) for p in PARSERS if p not in named and p.name not in GENERIC]
        attempts += [(p, True) for p in named if p.name in GENERIC]
        attempts += [(p, False) for p in PARSERS if p not in named and p.name in GENERIC]
    for parser, by_command in attempts:
        failure = parser.parse(replace(ctx, by_command=by_command))
        if failure is not None:
            return failure
    return None
