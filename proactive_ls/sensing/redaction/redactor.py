"""The redactor: one object, built from the settings, that every event passes through before the
engine keeps it.

It holds the decisions that need the settings and the workspace roots (which files are excluded,
whether secrets are redacted) and delegates the rest: secrets to ``secrets``, exclude globs to
``globs``, gitignore to ``gitignore``, what of an event survives to ``events``.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from proactive_ls.config import DEFAULT_EXCLUDE
from proactive_ls.events import EventBase, TerminalCommand
from proactive_ls.sensing.paths import uri_to_path
from proactive_ls.sensing.redaction.events import redact_model, without_content
from proactive_ls.sensing.redaction.gitignore import STAMP_TTL_S, GitignoreCache
from proactive_ls.sensing.redaction.globs import Glob
from proactive_ls.sensing.redaction.secrets import redact_text

_ANSWERS_KEPT = 4096


class Redactor:
    """Redacts secrets from text and events, and decides which files are excluded.

    Thread-safe for reading once built, except the gitignore cache (one caller at a time).
    """

    def __init__(
        self,
        exclude: list[str] | None = None,
        respect_gitignore: bool = True,
        redact_secrets: bool = True,
        roots: list[Path] | None = None,
        clock: Callable[[], float] = time.monotonic,
        gitignore: GitignoreCache | None = None,
    ) -> None:
        self.exclude = list(DEFAULT_EXCLUDE if exclude is None else exclude)
        self.respect_gitignore = respect_gitignore
        self.redact_secrets = redact_secrets
        self.roots = [Path(r).absolute() for r in roots or []]
        self._real_roots = [_real(r) for r in self.roots]
        self._real_root_strs = [str(r) for r in self._real_roots]
        self._globs: list[Glob] = []
        #: Globs that cannot be compiled (``[z-a]``): skipped, each with its problem, to report.
        self.invalid_globs: list[tuple[str, str]] = []
        for g in self.exclude:
            if not g.strip():
                continue
            try:
                self._globs.append(Glob(g))
            except re.error as exc:
                self.invalid_globs.append((g, str(exc)))
        self._clock = clock
        # Given: shared with the redactor this one replaces (new settings) or with the other files
        # of a replay, so their repositories' check-ignore processes are not started again.
        self.gitignore = gitignore if gitignore is not None else GitignoreCache(clock)
        # What the globs say of a path, and of a command line: pure functions of the string once
        # the globs are fixed, asked again for every event about the same file (bounded).
        self._glob_answers: dict[Path, bool] = {}
        self._command_answers: dict[str, bool] = {}
        self._uri_paths: dict[str, Path | None] = {}
        # Whether an event's (uri, path) concern an excluded file, and when that was judged: trusted
        # for as long as the ignore files' mtimes are (STAMP_TTL_S), so a burst of events about the
        # same files resolves their symlinks and asks git once, and a moved link is seen after it.
        self._concern_answers: dict[tuple[str | None, str | None], tuple[float, bool]] = {}

    # -- text -------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with secrets replaced by ``[REDACTED:<kind>]`` (unchanged when redaction is off)."""
        return redact_text(text) if self.redact_secrets else text

    # -- paths ------------------------------------------------------------------------------------

    def is_excluded(self, path: Path | str) -> bool:
        """True for a file whose content must never be kept: a configured glob matches its basename
        (or a folder name on its path), or its path relative to a root; or its repository ignores it."""
        return self.is_excluded_many([path])[0]

    def is_excluded_many(self, paths: Iterable[Path | str]) -> list[bool]:
        """:meth:`is_excluded` for many paths, asking git once per repository for the uncached ones."""
        answers = self._excluded_many(paths, ask_git=True)
        assert answers is not None
        return answers

    def known_excluded(self, paths: Iterable[Path | str]) -> list[bool] | None:
        """:meth:`is_excluded_many` when git need not be asked (its answers are cached), else None.

        The event loop asks this; on None it waits for :meth:`is_excluded_many` in a worker thread."""
        return self._excluded_many(paths, ask_git=False)

    def _excluded_many(self, paths: Iterable[Path | str], ask_git: bool) -> list[bool] | None:
        resolved = [self._to_path(p) for p in paths]
        # An event names its file twice (URI and path): each distinct file is judged once.
        unique = list(dict.fromkeys(p for p in resolved if p is not None))
        answer = {p: self._glob_excluded(p) or not self._path_inside(p) for p in unique}
        if self.respect_gitignore:
            todo = [(i, p) for i, p in enumerate(unique) if not answer[p] and p.is_absolute()]
            if todo:
                found = self.gitignore.ignored(todo) if ask_git else self.gitignore.known(todo)
                if found is None:
                    return None
                for i, ignored in found:
                    answer[unique[i]] = ignored
        return [p is not None and answer[p] for p in resolved]

    def inside_workspace(self, path: Path | str) -> bool:
        """Whether a file (path or ``file:`` URI) is inside a workspace root once symlinks are
        resolved; a URI of another scheme (``untitled:``) has no file and counts as inside. Without
        roots (a single file opened) there is no boundary to draw."""
        resolved = self._to_path(path)
        return resolved is None or self._path_inside(resolved)

    def _path_inside(self, path: Path) -> bool:
        """The workspace is a boundary: a file outside every root (after resolving symlinks) is
        treated as excluded, so its content never enters the history, a model request or an export."""
        if not self._real_roots:
            return True
        real = _real_str(path if path.is_absolute() else self.roots[0] / path)  # a link can move: see _concern_answers
        return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in self._real_root_strs)

    def warm(self, repositories: list[Path]) -> None:
        """Get git ready to answer for these repositories (blocking: run it in a worker thread)."""
        if self.respect_gitignore:
            for root in repositories:
                self.gitignore.warm(root)

    def _to_path(self, path: Path | str) -> Path | None:
        if isinstance(path, str):
            if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]+:", path) and not re.match(r"^[A-Za-z]:[\\/]", path):
                return self._uri_path(path)  # file:// URIs; untitled: and other schemes have no file
            path = Path(path)
        if not path.is_absolute():
            for root in self.roots:
                if (root / path).exists():
                    return root / path
            return self.roots[0] / path if self.roots else path
        return path

    def _uri_path(self, uri: str) -> Path | None:
        """A URI's file (a pure function of the string: kept)."""
        if uri in self._uri_paths:
            return self._uri_paths[uri]
        path = uri_to_path(uri)
        if len(self._uri_paths) >= _ANSWERS_KEPT:
            self._uri_paths.clear()
        self._uri_paths[uri] = path
        return path

    def _relative(self, path: Path) -> PurePosixPath:
        for root in self.roots:
            try:
                return PurePosixPath(path.relative_to(root).as_posix())
            except ValueError:
                continue
        if path.is_absolute():
            return PurePosixPath(path.name)  # outside every root: only the basename is meaningful
        return PurePosixPath(path.as_posix())

    def _glob_excluded(self, path: Path) -> bool:
        answer = self._glob_answers.get(path)
        if answer is None:
            rel = self._relative(path)
            answer = any(g.matches(rel) for g in self._globs)
            if len(self._glob_answers) >= _ANSWERS_KEPT:
                self._glob_answers.clear()
            self._glob_answers[path] = answer
        return answer

    # -- events -----------------------------------------------------------------------------------

    def redact_event(self, event: EventBase) -> EventBase | None:
        """A copy of ``event`` safe to keep: contentless if it concerns an excluded file (None when
        nothing but content is in it), and with every string redacted."""
        stripped: EventBase | None = event
        if (event.uri or event.path) and self._concerns_excluded(event.uri, event.path):
            stripped = without_content(event)
        elif isinstance(event, TerminalCommand) and event.output_tail and self._names_excluded_file(event.command_line):
            stripped = event.model_copy(update={"output_tail": ""})
        if stripped is None or not self.redact_secrets:
            return stripped
        return redact_model(stripped)

    def _concerns_excluded(self, uri: str | None, path: str | None) -> bool:
        key = (uri, path)
        now = self._clock()
        seen = self._concern_answers.get(key)
        if seen is not None and now - seen[0] < STAMP_TTL_S:
            return seen[1]
        answer = any(self.is_excluded_many([p for p in key if p]))
        if len(self._concern_answers) >= _ANSWERS_KEPT:
            self._concern_answers.clear()
        self._concern_answers[key] = (now, answer)
        return answer

    def _names_excluded_file(self, command_line: str) -> bool:
        """Whether a command mentions an excluded file by name (``cat .env``): its output is its content."""
        answer = self._command_answers.get(command_line)
        if answer is None:
            answer = self._names_excluded_file_uncached(command_line)
            if len(self._command_answers) >= _ANSWERS_KEPT:
                self._command_answers.clear()
            self._command_answers[command_line] = answer
        return answer

    def _names_excluded_file_uncached(self, command_line: str) -> bool:
        for token in command_line.split():
            token = token.strip("\"'<>|;&()")
            if token and not token.startswith("-"):
                path = PurePosixPath(token)
                if any(g.matches(path) for g in self._globs):
                    return True
        return False


def _real(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: not inside anything
        return Path("/nonexistent-symlink-loop") / path.name


def _real_str(path: Path) -> str:
    """:func:`_real` as a string, without pathlib's overhead (asked for every event)."""
    real = os.path.realpath(path)
    try:
        os.stat(real)  # a symlink loop is left unresolved by realpath: stat tells (as resolve() does)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return str(Path("/nonexistent-symlink-loop") / path.name)
    return real
