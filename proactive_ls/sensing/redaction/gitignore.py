"""Which files git ignores: one long-lived ``git check-ignore --stdin`` per repository, with a
bounded cache that is trusted while every ignore file that can decide keeps its mtime.

Its own module because it is the one part of redaction that runs a process and watches the file
system; everything else is pure. Costs on the event path: a cached answer costs no process and
no ``stat`` (the ignore files' mtimes are looked at most every :data:`STAMP_TTL_S` per file); an
uncached one is a line written to a process that is already running, not a new process (20 ms
each in a 20k-file repository).
"""

from __future__ import annotations

import logging
import os
import select
import subprocess
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from proactive_ls.sensing import git_safety

log = logging.getLogger(__name__)

_GITIGNORE_CACHE_SIZE = 4096
# How long an ignore file's mtime is trusted before it is looked at again: an edited .gitignore
# is noticed within this, and a burst of events stats each ignore file once.
STAMP_TTL_S = 0.5
_ANSWER_TIMEOUT_S = 10.0
_BATCH = 128  # paths written before their answers are read
# --non-matching -v: one answer of four NUL-ended fields (source, line, pattern, path) per path,
# flushed at once, ignored or not, tracked or not; so a path in is always an answer out.
CHECK_IGNORE = ["git", "check-ignore", "--stdin", "-z", "--non-matching", "-v"]


class GitignoreCache:
    """The repository of each directory and what git said about each file, both bounded (LRU).

    Thread-safe: the server may prefetch answers from a worker thread while the loop reads them.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._repo_of_dir: OrderedDict[Path, Path | None] = OrderedDict()
        self._ignored: OrderedDict[tuple[Path, str], tuple[tuple[int, ...], bool]] = OrderedDict()
        self._stamps: dict[Path, tuple[float, int]] = {}  # ignore file -> (looked at, mtime)
        self._processes: dict[Path, _CheckIgnore] = {}
        self._recent: dict[Path, tuple[float, bool]] = {}  # path -> (answered at, ignored)

    def warm(self, root: Path) -> None:
        """Start the repository's check-ignore process and let it load the index, off the event
        loop (a worker thread calls this): in a 20k-file repository its first answer takes a
        noticeable while. The process is shared at once, so a question asked meanwhile waits for
        this one load instead of starting a second process that loads the index again."""
        git_safety.full_env(root)  # git config --list, cached: run before the lock is taken
        with self._lock:
            process = self._processes.get(root)
            if process is None or not process.alive():
                process = self._processes[root] = _CheckIgnore(root)
        process.ask(["."])  # outside the cache's lock: only this process's questions wait

    def close(self) -> None:
        with self._lock:
            for process in self._processes.values():
                process.close()
            self._processes.clear()

    def _repo_root(self, directory: Path) -> Path | None:
        if directory in self._repo_of_dir:
            self._repo_of_dir.move_to_end(directory)
            return self._repo_of_dir[directory]
        root = work_tree_of(directory)
        self._repo_of_dir[directory] = root
        if len(self._repo_of_dir) > _GITIGNORE_CACHE_SIZE:
            self._repo_of_dir.popitem(last=False)
        return root

    def ignored(self, todo: list[tuple[int, Path]]) -> list[tuple[int, bool]]:
        """(index, ignored) for each absolute path of ``todo`` inside a repository (others are left out)."""
        with self._lock:
            answers = self._ignored_locked(todo, ask_git=True)
        assert answers is not None
        return answers

    def known(self, todo: list[tuple[int, Path]]) -> list[tuple[int, bool]] | None:
        """:meth:`ignored` if git need not be asked (a ``stat`` of the ignore files at most), else
        None; None too while another thread is asking (the event loop never waits for git)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._ignored_locked(todo, ask_git=False)
        finally:
            self._lock.release()

    def _ignored_locked(self, todo: list[tuple[int, Path]], ask_git: bool) -> list[tuple[int, bool]] | None:
        out: list[tuple[int, bool]] = []
        ask: dict[Path, list[tuple[int, str, tuple[int, ...], Path]]] = {}
        now = self._clock()
        recent = self._recent
        for i, path in todo:
            seen = recent.get(path)
            if seen is not None and now - seen[0] < STAMP_TTL_S:
                # Answered within the time the ignore files' mtimes are trusted anyway.
                out.append((i, seen[1]))
                continue
            root = self._repo_root(path.parent)
            if root is None:
                continue
            try:
                relpath = PurePosixPath(path.relative_to(root).as_posix())
            except ValueError:
                continue
            stamps = self._ignore_stamps(root, relpath, now)
            key = (root, relpath.as_posix())
            cached = self._ignored.get(key)
            if cached is not None and cached[0] == stamps:
                self._ignored.move_to_end(key)
                out.append((i, cached[1]))
                self._remember(path, now, cached[1])
            else:
                ask.setdefault(root, []).append((i, key[1], stamps, path))
        if ask and not ask_git:
            return None
        for root, items in ask.items():
            ignored = self._check_ignore(root, sorted({rel for _, rel, _, _ in items}))
            for i, rel, stamps, path in items:
                value = rel in ignored
                self._ignored[(root, rel)] = (stamps, value)
                out.append((i, value))
                self._remember(path, now, value)
            while len(self._ignored) > _GITIGNORE_CACHE_SIZE:
                self._ignored.popitem(last=False)
        return out

    def _remember(self, path: Path, now: float, ignored: bool) -> None:
        if len(self._recent) >= _GITIGNORE_CACHE_SIZE:
            self._recent.clear()
        self._recent[path] = (now, ignored)

    def _ignore_stamps(self, root: Path, rel: PurePosixPath, now: float) -> tuple[int, ...]:
        """mtimes of every ignore file that can decide about ``rel``: a change invalidates the cache."""
        files = [root / ".git" / "info" / "exclude", root / ".gitignore"]
        d = root
        for part in rel.parts[:-1]:
            d = d / part
            files.append(d / ".gitignore")
        return tuple(self._mtime(root, f, now) for f in files)

    def _mtime(self, root: Path, file: Path, now: float) -> int:
        seen = self._stamps.get(file)
        if seen is not None and now - seen[0] < STAMP_TTL_S:
            return seen[1]
        try:
            mtime = file.stat().st_mtime_ns
        except OSError:
            mtime = -1
        if seen is not None and seen[1] != mtime:
            # git reads each ignore file once per process: a changed one needs a new process.
            stale = self._processes.pop(root, None)
            if stale is not None:
                stale.close()
        if len(self._stamps) > _GITIGNORE_CACHE_SIZE:
            self._stamps.clear()
        self._stamps[file] = (now, mtime)
        return mtime

    def _check_ignore(self, root: Path, rels: list[str]) -> set[str]:
        process = self._processes.get(root)
        if process is None or not process.alive():
            process = self._processes[root] = _CheckIgnore(root)
        return process.ask(rels)


def work_tree_of(directory: Path) -> Path | None:
    """The work tree of the repository ``directory`` is in (None outside any, or inside a ``.git``)."""
    for d in (directory, *directory.parents):
        if d.name == ".git":
            return None  # inside a git dir: git's own files, not the work tree
        if (d / ".git").exists():
            return d
    return None


class _CheckIgnore:
    """One ``git check-ignore --stdin`` kept running for a repository; asked one batch at a time.

    A process that fails, times out or exits is dropped (its batch counts as not ignored, and
    the next batch starts a new one): a broken git never stops the server.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._asking = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None
        try:
            self._proc = subprocess.Popen(
                git_safety.argv(*CHECK_IGNORE[1:]),
                cwd=root,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=git_safety.full_env(root),
            )
        except OSError as error:
            log.warning("git check-ignore could not start in %s: %s", root, error)
            self._proc = None
        else:  # ends with its owner (a replaced redactor, the server's exit)
            weakref.finalize(self, _stop, self._proc)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)

    def ask(self, rels: list[str]) -> set[str]:
        """The paths of ``rels`` git ignores (one caller at a time: the pipe carries one batch)."""
        with self._asking:
            return self._ask(rels)

    def _ask(self, rels: list[str]) -> set[str]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            return set()
        fields: list[bytes] = []
        try:
            for k in range(0, len(rels), _BATCH):  # a batch's answers fit the pipe: no deadlock
                batch = rels[k : k + _BATCH]
                proc.stdin.write(b"".join(r.encode("utf-8", "surrogateescape") + b"\0" for r in batch))
                proc.stdin.flush()
                fields += self._read_fields(proc, 4 * len(batch))
        except (OSError, TimeoutError) as error:
            log.warning("git check-ignore failed in %s: %s", self.root, error)
            self.close()
            return set()
        ignored: set[str] = set()
        for k in range(0, len(fields), 4):
            source, _line, pattern, path = fields[k : k + 4]
            if source and not pattern.startswith(b"!"):  # a negated pattern un-ignores
                ignored.add(path.decode("utf-8", "surrogateescape"))
        return ignored

    @staticmethod
    def _read_fields(proc: subprocess.Popen[bytes], count: int) -> list[bytes]:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + _ANSWER_TIMEOUT_S
        buffer = b""
        while buffer.count(b"\0") < count:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"no answer within {_ANSWER_TIMEOUT_S:.0f} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise OSError("git check-ignore exited")
            buffer += chunk
        return buffer.split(b"\0")[:count]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a check-ignore process: closing its input ends it; killed if it does not."""
    if proc.poll() is None:
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
