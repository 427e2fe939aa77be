"""Which files git ignores: ``git check-ignore`` asked once per repository for many paths, with a
bounded cache that is trusted only while every ignore file that can decide keeps its mtime.

Its own module because it is the one part of redaction that runs a process and watches the file
system; everything else is pure.
"""

from __future__ import annotations

import logging
import subprocess
from collections import OrderedDict
from pathlib import Path, PurePosixPath

import git

from proactive_ls.sensing import git_safety

log = logging.getLogger(__name__)

_GITIGNORE_CACHE_SIZE = 4096


class GitignoreCache:
    """The repository of each directory and what git said about each file, both bounded (LRU).

    One caller at a time.
    """

    def __init__(self) -> None:
        self._repo_of_dir: OrderedDict[Path, Path | None] = OrderedDict()
        self._ignored: OrderedDict[tuple[Path, str], tuple[tuple[int, ...], bool]] = OrderedDict()

    def _repo_root(self, directory: Path) -> Path | None:
        if directory in self._repo_of_dir:
            self._repo_of_dir.move_to_end(directory)
            return self._repo_of_dir[directory]
        root: Path | None = None
        for d in (directory, *directory.parents):
            if d.name == ".git":
                break  # inside a git dir: git's own files, not the work tree
            if (d / ".git").exists():
                root = d
                break
        self._repo_of_dir[directory] = root
        if len(self._repo_of_dir) > _GITIGNORE_CACHE_SIZE:
            self._repo_of_dir.popitem(last=False)
        return root

    def ignored(self, todo: list[tuple[int, Path]]) -> list[tuple[int, bool]]:
        """(index, ignored) for each absolute path of ``todo`` inside a repository (others are left out)."""
        out: list[tuple[int, bool]] = []
        ask: dict[Path, list[tuple[int, str, tuple[int, ...]]]] = {}
        for i, path in todo:
            root = self._repo_root(path.parent)
            if root is None:
                continue
            try:
                relpath = PurePosixPath(path.relative_to(root).as_posix())
            except ValueError:
                continue
            stamps = _ignore_stamps(root, relpath)
            key = (root, relpath.as_posix())
            cached = self._ignored.get(key)
            if cached is not None and cached[0] == stamps:
                self._ignored.move_to_end(key)
                out.append((i, cached[1]))
            else:
                ask.setdefault(root, []).append((i, key[1], stamps))
        for root, items in ask.items():
            ignored = _check_ignore(root, sorted({rel for _, rel, _ in items}))
            for i, rel, stamps in items:
                value = rel in ignored
                self._ignored[(root, rel)] = (stamps, value)
                out.append((i, value))
            while len(self._ignored) > _GITIGNORE_CACHE_SIZE:
                self._ignored.popitem(last=False)
        return out


def _ignore_stamps(root: Path, rel: PurePosixPath) -> tuple[int, ...]:
    """mtimes of every ignore file that can decide about ``rel``: a change invalidates the cache."""
    files = [root / ".git" / "info" / "exclude", root / ".gitignore"]
    d = root
    for part in rel.parts[:-1]:
        d = d / part
        files.append(d / ".gitignore")
    stamps = []
    for f in files:
        try:
            stamps.append(f.stat().st_mtime_ns)
        except OSError:
            stamps.append(-1)
    return tuple(stamps)


def _check_ignore(root: Path, rels: list[str]) -> set[str]:
    """The paths among ``rels`` that git ignores in the repository at ``root`` (tracked files are
    never ignored): one ``git check-ignore --stdin -z`` for all of them."""
    runner = git.Git(str(root))
    git_safety.harden(runner, root)
    handle = runner.execute(["git", "check-ignore", "--stdin", "-z"], istream=subprocess.PIPE, as_process=True)
    proc = handle.proc
    assert proc is not None
    try:
        stdout, stderr = proc.communicate("\0".join(rels).encode() + b"\0", timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        log.warning("git check-ignore timed out in %s", root)
        return set()
    if proc.returncode not in (0, 1):  # 1: none of them is ignored
        log.warning("git check-ignore failed in %s: %s", root, stderr.decode(errors="replace").strip())
        return set()
    return {p for p in stdout.decode("utf-8", "surrogateescape").split("\0") if p}
