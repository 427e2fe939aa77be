"""Find the file a tool printed, the way the tool meant the path.

Tools print paths relative to different places: the command's working directory (most), the
directory a ``cd X &&`` moved to, pytest's ``--rootdir``, tsc's project (``-p``) and its
``rootDir``, the cargo workspace root (cargo runs rustc there, so a member's file is
``member/src/lib.rs``), the go module root, a Maven module's ``src/*/java``. When none of those
holds the path, the workspace is searched for files whose path ends with it; if several do, the
one that mentions the failing symbol (the test's or the missing name) wins, then the nearest.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from proactive_ls.sensing.terminal.command import _split

__all__ = ["locate", "search_bases", "symbols_of", "definition_of_test"]

_SKIP_DIRS = frozenset(
    {".git", "node_modules", ".venv", "venv", "__pycache__", "target", "dist", "build", ".tox", ".mypy_cache"}
)
MAX_SCANNED = 20_000
"""Directory entries looked at when searching the workspace: a bound, not a goal."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_COMMON = frozenset({"test", "tests", "error", "failed", "expected", "undefined", "assert", "name", "type"})


def _flag_value(words: list[str], *flags: str) -> list[str]:
    values: list[str] = []
    for i, word in enumerate(words):
        for flag in flags:
            if word == flag and i + 1 < len(words):
                values.append(words[i + 1])
            elif word.startswith(flag + "="):
                values.append(word[len(flag) + 1 :])
    return values


def _upward(start: Path, name: str, contains: str | None = None) -> Path | None:
    """The nearest directory at or above ``start`` holding ``name`` (whose text has ``contains``)."""
    here = start
    for _ in range(32):
        candidate = here / name
        if candidate.is_file():
            if contains is None:
                return here
            try:
                if contains in candidate.read_text(encoding="utf-8", errors="replace")[:65536]:
                    return here
            except OSError:
                pass
        if here.parent == here:
            return None
        here = here.parent
    return None


def search_bases(command_line: str, cwd: str | None) -> list[Path]:
    """The directories a command's tools print paths relative to, most likely first."""
    if not cwd:
        return []
    root = Path(cwd)
    words = _split(command_line[:10_000])
    bases: list[Path] = []
    for i, word in enumerate(words[:-1]):  # "cd sub && pytest": the tool ran in sub
        if word in ("cd", "pushd") and words[i + 1] not in ("-", "&&"):
            bases.append(root / os.path.expanduser(words[i + 1]))
    for value in _flag_value(words, "--rootdir", "--prefix", "--cwd", "--dir", "-C", "--manifest-path", "-f", "--file"):
        target = root / os.path.expanduser(value)
        bases.append(target.parent if target.suffix in (".toml", ".xml", ".json") else target)
    for value in _flag_value(words, "-p", "--project"):
        target = root / value
        if target.suffix == ".json" or target.is_dir():
            project = target.parent if target.suffix == ".json" else target
            bases.append(project)
            bases.extend(_ts_root_dirs(target if target.suffix == ".json" else target / "tsconfig.json"))
    bases.extend(_ts_root_dirs(root / "tsconfig.json"))
    for marker, contains in (("Cargo.toml", "[workspace]"), ("go.mod", None), ("pom.xml", None)):
        found = _upward(root, marker, contains)
        if found is not None:
            bases.append(found)
            if marker == "pom.xml":
                bases.extend(found / sub for sub in ("src/main/java", "src/test/java", "src/main/kotlin"))
    unique: list[Path] = []
    for base in bases:
        if base not in unique and base != root:
            unique.append(base)
    return unique


def _ts_root_dirs(tsconfig: Path) -> list[Path]:
    try:
        text = tsconfig.read_text(encoding="utf-8", errors="replace")[:262_144]
    except OSError:
        return []
    m = re.search(r'"rootDir"\s*:\s*("(?:[^"\\]|\\.)*")', text)  # tsconfig allows comments: no json.load
    if m is None:
        return []
    try:
        return [tsconfig.parent / json.loads(m.group(1))]
    except ValueError:
        return []


def symbols_of(title: str) -> list[str]:
    """Identifiers in a failure title worth looking for in candidate files, most specific last."""
    return [w for w in _IDENTIFIER.findall(title) if w.lower() not in _COMMON]


def _ends_with(path: Path, parts: tuple[str, ...]) -> bool:
    return path.parts[-len(parts) :] == parts


def _candidates(roots: Iterable[Path], parts: tuple[str, ...]) -> list[Path]:
    found: list[Path] = []
    scanned = 0
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
            scanned += len(dirnames) + len(filenames)
            if parts[-1] in filenames:
                full = Path(dirpath) / parts[-1]
                if _ends_with(full, parts) and full not in found:
                    found.append(full)
            if scanned > MAX_SCANNED:
                return found
    return found


def _mentions(path: Path, symbols: list[str]) -> int:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:1_000_000]
    except OSError:
        return 0
    return sum(1 for s in set(symbols) if s in text)


def locate(
    path: str, cwd: str | None, roots: list[Path], command_line: str = "", symbols: Iterable[str] = ()
) -> Path | None:
    """The file ``path`` (as a tool printed it) means, or None when none fits."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    bases = [*search_bases(command_line, cwd), *([Path(cwd)] if cwd else []), *roots]
    for base in bases:
        full = base / candidate
        if full.is_file():
            return full.resolve()
    parts = tuple(p for p in candidate.parts if p not in (".", ""))
    if not parts or ".." in parts:
        return None
    search = [r for r in roots if r.is_dir()] or ([Path(cwd)] if cwd and Path(cwd).is_dir() else [])
    found = _candidates(search, parts)
    if not found:
        return None
    wanted = list(symbols)
    here = Path(cwd) if cwd else (roots[0] if roots else Path("/"))

    def rank(p: Path) -> tuple[int, int]:
        try:
            distance = len(p.relative_to(here).parts)
        except ValueError:
            distance = 1000 + len(p.parts)
        return (-_mentions(p, wanted) if wanted else 0, distance)

    return min(found, key=rank).resolve()


_NODE_ID = re.compile(r"^([^\s:]+\.py)::(?:[\w.]+::)*(\w+)(?:\[.*\])?$")


def definition_of_test(
    title: str, cwd: str | None, roots: list[Path], command_line: str = ""
) -> tuple[Path, int] | None:
    """For a pytest node id (``tests/test_x.py::TestA::test_b[1]``): its file and the 1-based line
    of ``def test_b``. The fallback when the traceback scrolled out of the output we were sent and
    only the short summary names the test."""
    m = _NODE_ID.match(title)
    if m is None:
        return None
    found = locate(m.group(1), cwd, roots, command_line)
    if found is None:
        return None
    definition = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(m.group(2))}\s*\(")
    try:
        with found.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if definition.match(line):
                    return found, number
    except OSError:
        return None
    return None
