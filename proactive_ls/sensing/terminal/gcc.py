"""GCC and Clang (C, C++, Objective-C), directly or through make/cmake/ninja: compile and link errors.

Both print ``file.c:8:20: error: message`` (``fatal error`` when they stop at once) followed by a
code frame; the linker prints ``file.c:(.text+0xa): undefined reference to `name'``. Warnings and
notes do not fail a build, so only errors count.
"""

from __future__ import annotations

import re

from proactive_ls.events import Failure, SourceLocation
from proactive_ls.sensing.terminal.base import Context, first_detail, location, make_failure, plural, where

PROGRAMS = frozenset({"gcc", "g++", "cc", "c++", "clang", "clang++"})
_COMPILER = re.compile(r"^(?:[\w.]+-)*(?:gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(?:-\d+(?:\.\d+)*)?$")
_DIAGNOSTIC = re.compile(r"^((?:[A-Za-z]:)?[^\s:][^:]*):(\d+):(?:(\d+):)? (?:fatal error|error): (.*)$")
_C_FAMILY = re.compile(r"\.(?:c|h|cc|cp|cpp|cxx|c\+\+|hpp|hh|hxx|h\+\+|ipp|tpp|inl|m|mm|cu|cuh|s|S)$")
_UNDEFINED = re.compile(r"^((?:[A-Za-z]:)?[^\s:][^:]*):(?:\([^()]*\)|(\d+)): (undefined reference to .*)$")
_CLANG = re.compile(r"^\d+ errors? generated\.$|^clang(?:\+\+)?: error: ")


def is_compiler(program: str) -> bool:
    """``gcc``, ``g++-12``, ``x86_64-linux-gnu-gcc``, ``clang++``, ``cc``..."""
    return bool(_COMPILER.match(program))


def parse(ctx: Context) -> Failure | None:
    """Compile or link errors of a C-family build, or None when there are none."""
    errors: list[tuple[str, SourceLocation | None, str]] = []
    undefined: list[tuple[str, SourceLocation | None, str]] = []
    clang = any(inv.program.startswith("clang") for inv in ctx.invocations)
    for line in ctx.lines:
        if m := _DIAGNOSTIC.match(line):
            path, ln, col, message = m.groups()
            if ctx.by_command or _C_FAMILY.search(path):
                errors.append((path, location(path, ln, col), message))
        elif m := _UNDEFINED.match(line):
            path, ln, message = m.groups()
            undefined.append((path, location(path, ln) if ln else None, message))
        elif _CLANG.match(line):
            clang = True
    tool = "clang" if clang else "gcc"
    if errors:
        lead, found = f"the build failed with {plural(len(errors), 'error')}", errors
    elif undefined:
        lead, found = f"the link failed with {plural(len(undefined), 'undefined reference')}", undefined
    else:
        return None
    paths = [p for p, _, _ in found]
    _, first_loc, first_message = found[0]
    summary = lead + where(paths, ctx.cwd) + first_detail(first_loc, first_message, paths, len(found), ctx.cwd)
    return make_failure(tool, first_message, summary, len(found), [loc for _, loc, _ in found])
