"""Which programs a shell command line runs, so the right parser can be chosen before any sniffing.

The editor forwards the command exactly as typed: with environment assignments, wrappers such as
``uv run`` or ``npx``, ``python -m``, and ``&&`` chains. We only need the program names and their
arguments, not a faithful shell parse.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "|&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PYTHON = re.compile(r"^python(?:\d+(?:\.\d+)*)?(?:\.exe)?$|^py$|^pypy3?$")
# Wrappers that run the next word as the real program (after their own options).
_PREFIXES = frozenset({"sudo", "time", "env", "nice", "nohup", "exec", "command", "npx", "bunx", "pnpx"})
# Wrappers of the form "<tool> run|exec <program>".
_RUNNERS = frozenset({"uv", "poetry", "pipenv", "hatch", "pdm", "rye", "npm", "pnpm", "yarn", "bun", "conda"})


@dataclass(frozen=True)
class Invocation:
    """One program run by the command line: its name without directory or suffix, and its arguments."""

    program: str
    args: tuple[str, ...]


def _split(command_line: str) -> list[str]:
    try:
        return shlex.split(command_line, posix=True)
    except ValueError:
        return command_line.split()


def _unwrap(words: list[str]) -> Invocation | None:
    i = 0
    while i < len(words):
        word = words[i]
        name = os.path.basename(word)
        if _ASSIGNMENT.match(word):
            i += 1
        elif name in _PREFIXES:
            i += 1
            while i < len(words) and (words[i].startswith("-") or _ASSIGNMENT.match(words[i])):
                i += 1
        elif name in _RUNNERS and i + 1 < len(words) and words[i + 1] in {"run", "exec", "dlx", "x"}:
            i += 2
            while i < len(words) and words[i].startswith("-"):
                i += 1
        elif _PYTHON.match(name) and "-m" in words[i + 1 : i + 4]:
            at = words.index("-m", i + 1)
            if at + 1 >= len(words):
                return Invocation(program="python", args=tuple(words[i + 1 :]))
            return Invocation(program=words[at + 1], args=tuple(words[at + 2 :]))
        else:
            program = name.removesuffix(".exe")
            if _PYTHON.match(program):
                program = "python"
            return Invocation(program=program, args=tuple(words[i + 1 :]))
    return None


def invocations(command_line: str) -> tuple[Invocation, ...]:
    """Every program the command line runs, in order (``a && b | c`` gives three)."""
    found: list[Invocation] = []
    segment: list[str] = []
    for word in [*_split(command_line[:10_000]), ";"]:
        if word in _SEPARATORS:
            inv = _unwrap(segment)
            if inv is not None:
                found.append(inv)
            segment = []
        else:
            segment.append(word)
    return tuple(found)
