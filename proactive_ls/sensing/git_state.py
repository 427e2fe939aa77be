"""Repository state through GitPython, noticed cheaply.

A :class:`GitWatcher` stats the handful of files git rewrites when its state changes (HEAD, the
index, the current branch's ref, MERGE_HEAD, rebase-merge/, ...). Only when one of those stamps
moves does it ask git for a new :class:`RepoSnapshot` and turn the difference with the previous one
into Git* events. Editing a tracked file touches none of these files, so the size of the uncommitted
diff is only refreshed by a snapshot: call :meth:`GitWatcher.check` when the client reports a change
(a watched state file, a saved document).

What is emitted, in this order, for one snapshot compared with the previous:

1. ``GitBranchSwitched`` when the branch changed. During a rebase or a bisect the branch is the one
   being rebased / bisected (HEAD is detached only for git's own bookkeeping), so they cause no switch.
2. ``GitCommitted`` for each commit the user made since the last snapshot, read from the new
   entries of the HEAD reflog (``commit``, ``commit (amend|merge|initial)``, ``cherry-pick``,
   ``revert`` and non-fast-forward ``merge``), the last 10 at most, oldest first, each with the
   branch it was made on (checkouts in the reflog are followed). Commits that
   arrive by pull, fast-forward, reset or rebase are not the user's commits and are not reported.
   Without a reflog, the commits in ``old..new`` on the same branch are reported instead.
3. ``GitOperation``: ``finished`` / ``aborted`` when an operation ended (aborted when HEAD is back
   where it was when the operation started), ``started`` (with the unmerged paths) when one began,
   and ``started`` again when new conflicted files appear within the same operation (e.g. the next
   commit of a rebase conflicts).
4. ``GitStaged`` when the set of staged files changed and is not empty, unless an operation started
   or ended in the same snapshot (git staged those files, not the user). Unmerged paths are not staged.
5. ``GitWorktreeChanged`` when the uncommitted diff (``git diff --numstat HEAD``, tracked files only)
   changed meaningfully since the last reported size: a different number of files, or a change of
   the changed-line count by at least ``max(10, 20%)``.

The first snapshot is the baseline and emits nothing, except an operation already in progress with
conflicted files: that is exactly the state a developer opens the editor in to resolve it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from pathlib import Path
from typing import Literal

import git
from pydantic import BaseModel, ConfigDict, Field

from proactive_ls.events import (
    EventBase,
    GitBranchSwitched,
    GitCommitted,
    GitOperation,
    GitStaged,
    GitWorktreeChanged,
)
from proactive_ls.sensing import git_safety

log = logging.getLogger(__name__)

OperationName = Literal["merge", "rebase", "cherry-pick", "revert", "bisect"]

MAX_COMMITS = 10
"""At most this many GitCommitted events per snapshot (the newest)."""
MAX_LISTED_FILES = 200
"""Bound on the file lists kept in a snapshot."""
GIT_TIMEOUT_S = 10.0
"""A git command that takes longer is killed; the snapshot is retried at the next change."""
DIFF_BIG_FILE = "1m"
"""Files larger than this are counted as binary by the diff (no line count): bounds its cost."""
REFLOG_TAIL_BYTES = 256 * 1024
WORKTREE_MIN_LINES = 10
WORKTREE_MIN_RATIO = 0.2

# Files in the per-worktree git dir whose stamps tell that the state may have changed.
_GIT_DIR_FILES = (
    "HEAD",
    "index",
    "ORIG_HEAD",
    "MERGE_HEAD",
    "REBASE_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_LOG",
    "BISECT_START",
    "rebase-merge",
    "rebase-apply",
    "sequencer",
    "logs/HEAD",
)
# Files in the common dir (shared by all worktrees of a repository).
_COMMON_DIR_FILES = ("packed-refs", "reftable/tables.list")

_COMMIT_ACTIONS = re.compile(r"^(?:commit(?: \((?:initial|amend|merge)\))?|cherry-pick|revert):")
_MERGE_COMMIT = re.compile(r"^merge [^:]*: Merge made by")
_CHECKOUT = re.compile(r"^checkout: moving from .* to (\S+)$")


class RepoSnapshot(BaseModel):
    """The state of one repository at one moment, as git reports it."""

    model_config = ConfigDict(frozen=True)

    root: str
    branch: str | None = Field(
        default=None, description="the branch checked out (or being rebased / bisected); None when detached"
    )
    detached: bool = False
    head: str | None = Field(default=None, description="full sha of HEAD; None on an unborn branch")
    staged: list[str] = Field(default_factory=list, description="paths with staged changes, sorted")
    conflicted: list[str] = Field(default_factory=list, description="unmerged paths, sorted")
    operation: OperationName | None = None
    files: int = Field(default=0, ge=0, description="tracked files in the uncommitted diff (HEAD vs worktree)")
    insertions: int = Field(default=0, ge=0)
    deletions: int = Field(default=0, ge=0)
    changed: list[str] = Field(default_factory=list, description="the files of that diff, bounded")

    @property
    def lines(self) -> int:
        return self.insertions + self.deletions


def find_repositories(folder: Path) -> list[Path]:
    """The work tree root of the repository ``folder`` is in (a linked worktree counts), then its
    checked-out submodules, recursively. A plain folder gives ``[]``."""
    try:
        repo = git.Repo(Path(folder), search_parent_directories=True)
        git_safety.harden(repo.git, None)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return []
    try:
        if repo.bare or repo.working_tree_dir is None:
            return []
        top = Path(repo.working_tree_dir).resolve()
    finally:
        repo.close()
    found = [top]
    _add_submodules(top, found, depth=0)
    return found


def _add_submodules(top: Path, found: list[Path], depth: int) -> None:
    gitmodules = top / ".gitmodules"
    if depth > 5 or not gitmodules.is_file() or len(found) > 100:
        return
    try:
        runner = git.Git(str(top))
        git_safety.harden(runner, None)
        out = runner.config("-f", str(gitmodules), "--get-regexp", r"^submodule\..*\.path$")
    except git.GitCommandError:  # no path entries: git config exits 1
        return
    for line in out.splitlines():
        _, _, rel = line.partition(" ")
        sub = (top / rel).resolve()
        if rel and (sub / ".git").exists() and sub not in found:
            found.append(sub)
            _add_submodules(sub, found, depth + 1)


class _OpState(BaseModel):
    """What the watcher remembers about the operation in progress."""

    name: OperationName
    base: str | None = None
    bisect_found: bool = False
    conflicted: frozenset[str] = frozenset()


class GitWatcher:
    """Watches one repository (work tree root ``root``) and reports what changed as events.

    Thread-safe for one caller at a time: poll/check may run in a worker thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._repo = git.Repo(self.root)
        self._git = self._repo.git
        git_safety.harden(self._git, self.root)
        git_dir, common_dir = self._git.rev_parse(
            "--path-format=absolute", "--git-dir", "--git-common-dir"
        ).splitlines()
        self.git_dir = Path(git_dir)
        self.common_dir = Path(common_dir)
        self._lock = threading.Lock()
        self._stamps: dict[str, float | int] | None = None
        self._snapshot: RepoSnapshot | None = None
        self._op: _OpState | None = None
        self._reflog_offset = 0
        self._reported_diff: tuple[int, int] = (0, 0)  # (files, lines) last reported
        self._empty_tree: str | None = None

    # -- cheap part -----------------------------------------------------------------------------

    def stamps(self) -> dict[str, float | int]:
        """mtime (ns), size and inode of each git state file that exists; nothing else is read
        except HEAD's few bytes (to know which branch ref to stat)."""
        paths: dict[str, Path] = {name: self.git_dir / name for name in _GIT_DIR_FILES}
        for name in _COMMON_DIR_FILES:
            paths[name] = self.common_dir / name
        ref = self._head_ref()
        if ref:
            paths[ref] = self.common_dir / ref
        out: dict[str, float | int] = {}
        for name, path in paths.items():
            try:
                st = path.stat()
            except OSError:
                continue
            out[name] = st.st_mtime_ns
            out[name + ":size"] = st.st_size
            out[name + ":ino"] = st.st_ino
        return out

    def _head_ref(self) -> str | None:
        text = _read_text(self.git_dir / "HEAD")
        if text and text.startswith("ref: "):
            return text[5:].strip()
        return None

    def watch_globs(self) -> list[str]:
        """Glob patterns for ``workspace/didChangeWatchedFiles`` covering the state files.

        Paths inside a ``.git`` folder become ``**/.git/...`` patterns (``**/.git/worktrees/wt/HEAD``
        for a linked worktree, ``**/.git/modules/sub/HEAD`` for a submodule); a git dir elsewhere
        (``GIT_DIR``, ``--separate-git-dir``) is given as an absolute pattern.
        """
        names = [n for n in _GIT_DIR_FILES if n not in ("rebase-merge", "rebase-apply", "sequencer")]
        patterns = [self.git_dir / n for n in names]
        patterns += [self.git_dir / "rebase-merge", self.git_dir / "rebase-apply", self.git_dir / "sequencer"]
        patterns += [self.common_dir / "packed-refs", self.common_dir / "refs" / "heads" / "**"]
        return list(dict.fromkeys(_glob_for(p) for p in patterns))

    @property
    def ready(self) -> bool:
        """Has the first poll taken the baseline (later changes are reported against it)?"""
        return self._snapshot is not None

    # -- polling ----------------------------------------------------------------------------------

    def poll(self, now: float) -> list[EventBase]:
        """Events for what changed since the last call; git is asked only if a stamp moved."""
        with self._lock:
            stamps = self.stamps()
            if stamps == self._stamps:
                return []
            return self._refresh(now, stamps)

    def check(self, now: float) -> list[EventBase]:
        """Like :meth:`poll` but always takes a snapshot (a watched file or a document changed)."""
        with self._lock:
            return self._refresh(now, self.stamps())

    def snapshot(self) -> RepoSnapshot:
        """A fresh snapshot, without comparing it with anything or changing the watcher's memory."""
        with self._lock:
            return self._take_snapshot()

    def close(self) -> None:
        """Ends GitPython's persistent helper processes."""
        self._repo.close()

    # -- snapshot ---------------------------------------------------------------------------------

    def _refresh(self, now: float, stamps: dict[str, float | int]) -> list[EventBase]:
        try:
            snap = self._take_snapshot()
            reflog = self._read_reflog()
            events = self._diff(now, self._snapshot, snap, reflog)
        except (git.GitCommandError, OSError, ValueError) as exc:
            # The repository may be mid-write or gone: keep the old snapshot and retry at the next
            # change of a state file (not at every poll, which would repeat the failure).
            log.warning("git state of %s unavailable: %s", self.root, exc)
            self._stamps = stamps
            return []
        self._snapshot = snap
        self._stamps = stamps
        return events

    def _take_snapshot(self) -> RepoSnapshot:
        git_safety.harden(self._git, self.root)  # the repository's config may have named new drivers
        status = self._git.status(
            "--porcelain=v2",
            "-z",
            "--branch",
            "--untracked-files=no",
            "--ignore-submodules=dirty",
            kill_after_timeout=GIT_TIMEOUT_S,
            strip_newline_in_stdout=False,
        )
        head, branch, staged, conflicted = _parse_status(status)
        operation = self._operation()
        effective = branch
        if operation in ("rebase", "bisect"):
            effective = self._operation_branch(operation) or branch
        files, ins, dels, changed = self._diff_stats(head)
        return RepoSnapshot(
            root=str(self.root),
            branch=effective,
            detached=branch is None,
            head=head,
            staged=sorted(set(staged) - set(conflicted))[:MAX_LISTED_FILES],
            conflicted=sorted(conflicted)[:MAX_LISTED_FILES],
            operation=operation,
            files=files,
            insertions=ins,
            deletions=dels,
            changed=changed[:MAX_LISTED_FILES],
        )

    def _operation(self) -> OperationName | None:
        d = self.git_dir
        if (d / "rebase-merge").is_dir():
            return "rebase"
        if (d / "rebase-apply").is_dir() and not (d / "rebase-apply" / "applying").exists():
            return "rebase"
        if (d / "MERGE_HEAD").exists():
            return "merge"
        if (d / "CHERRY_PICK_HEAD").exists():
            return "cherry-pick"
        if (d / "REVERT_HEAD").exists():
            return "revert"
        if (d / "BISECT_LOG").exists():
            return "bisect"
        return None

    def _operation_branch(self, operation: OperationName) -> str | None:
        if operation == "rebase":
            for sub in ("rebase-merge", "rebase-apply"):
                name = _read_text(self.git_dir / sub / "head-name")
                if name:
                    name = name.strip()
                    return name.removeprefix("refs/heads/") if name.startswith("refs/heads/") else None
            return None
        start = (_read_text(self.git_dir / "BISECT_START") or "").strip()
        return start if start and not re.fullmatch(r"[0-9a-f]{40,64}", start) else None

    def _operation_base(self, operation: OperationName, head: str | None) -> str | None:
        """HEAD before the operation: where an abort returns to."""
        if operation == "rebase":
            for sub in ("rebase-merge", "rebase-apply"):
                base = _read_text(self.git_dir / sub / "orig-head")
                if base:
                    return base.strip()
        if operation in ("cherry-pick", "revert"):
            base = _read_text(self.git_dir / "sequencer" / "head")
            if base:
                return base.strip()
        return head

    def _diff_stats(self, head: str | None) -> tuple[int, int, int, list[str]]:
        target = head or self._empty_tree_sha()
        out = self._git.execute(
            [
                "git",
                "-c",
                f"core.bigFileThreshold={DIFF_BIG_FILE}",
                "diff",
                "--numstat",
                "-z",
                "--no-renames",
                *git_safety.DIFF_FLAGS,
                "--ignore-submodules=dirty",
                target,
                "--",
            ],
            kill_after_timeout=GIT_TIMEOUT_S,
            strip_newline_in_stdout=False,
        )
        files = ins = dels = 0
        changed: list[str] = []
        for record in str(out).split("\0"):
            parts = record.split("\t", 2)
            if len(parts) != 3:
                continue
            added, removed, path = parts
            files += 1
            ins += int(added) if added.isdigit() else 0
            dels += int(removed) if removed.isdigit() else 0
            if len(changed) < MAX_LISTED_FILES:
                changed.append(path)
        return files, ins, dels, changed

    def _empty_tree_sha(self) -> str:
        """The id of the empty tree (what an unborn HEAD is compared with), in the repo's hash."""
        if self._empty_tree is None:
            fmt = self._git.rev_parse("--show-object-format").strip() or "sha1"
            self._empty_tree = hashlib.new(fmt, b"tree 0\0").hexdigest()
        return self._empty_tree

    def _read_reflog(self) -> list[tuple[str, str, str]] | None:
        """New (old sha, new sha, message) entries of the HEAD reflog since the last read, or None
        when there is no reflog."""
        path = self.git_dir / "logs" / "HEAD"
        try:
            size = path.stat().st_size
        except OSError:
            self._reflog_offset = 0
            return None
        start = self._reflog_offset
        start = min(start, size)  # shrunk (expired or rewritten): report nothing old
        start = max(start, size - REFLOG_TAIL_BYTES)
        with path.open("rb") as fh:
            fh.seek(start)
            data = fh.read(size - start)
        self._reflog_offset = size
        if start != 0 and start == size - REFLOG_TAIL_BYTES and data:
            data = data.split(b"\n", 1)[-1]
        entries = []
        for raw in data.decode("utf-8", "replace").splitlines():
            ident, _, message = raw.partition("\t")
            fields = ident.split(" ", 2)
            if len(fields) >= 2:
                entries.append((fields[0], fields[1], message))
        return entries

    # -- difference -------------------------------------------------------------------------------

    def _diff(
        self, now: float, old: RepoSnapshot | None, new: RepoSnapshot, reflog: list[tuple[str, str, str]] | None
    ) -> list[EventBase]:
        repo = str(self.root)
        if old is None:
            self._reported_diff = (new.files, new.lines)
            if new.operation is not None:
                self._op = self._new_op_state(new)
                if new.conflicted:
                    return [
                        GitOperation(
                            time=now, repo=repo, operation=new.operation, state="started", conflicted=new.conflicted
                        )
                    ]
            return []

        events: list[EventBase] = []
        if new.branch != old.branch:
            events.append(GitBranchSwitched(time=now, repo=repo, old=old.branch, new=new.branch))

        events += self._commits(now, old, new, reflog)

        op_changed = False
        prev = self._op
        if prev is not None and prev.name != new.operation:
            state: Literal["finished", "aborted"]
            if prev.name == "bisect":
                state = "finished" if prev.bisect_found else "aborted"
            else:
                state = "aborted" if prev.base is not None and new.head == prev.base else "finished"
            events.append(GitOperation(time=now, repo=repo, operation=prev.name, state=state))
            self._op = None
            op_changed = True
        if new.operation is not None and (self._op is None or self._op.name != new.operation):
            self._op = self._new_op_state(new)
            events.append(
                GitOperation(time=now, repo=repo, operation=new.operation, state="started", conflicted=new.conflicted)
            )
            op_changed = True
        elif self._op is not None:
            fresh = frozenset(new.conflicted) - self._op.conflicted
            if fresh:
                events.append(
                    GitOperation(
                        time=now, repo=repo, operation=self._op.name, state="started", conflicted=new.conflicted
                    )
                )
            self._op = self._op.model_copy(
                update={
                    "conflicted": frozenset(new.conflicted),
                    "bisect_found": self._op.bisect_found or self._bisect_found(),
                }
            )

        if new.staged and new.staged != old.staged and not op_changed:
            events.append(GitStaged(time=now, repo=repo, files=new.staged))

        files, lines = self._reported_diff
        if new.files != files or abs(new.lines - lines) >= max(WORKTREE_MIN_LINES, WORKTREE_MIN_RATIO * lines):
            events.append(
                GitWorktreeChanged(
                    time=now, repo=repo, files=new.files, insertions=new.insertions, deletions=new.deletions
                )
            )
            self._reported_diff = (new.files, new.lines)
        return events

    def _new_op_state(self, snap: RepoSnapshot) -> _OpState:
        assert snap.operation is not None
        return _OpState(
            name=snap.operation,
            base=self._operation_base(snap.operation, snap.head),
            bisect_found=snap.operation == "bisect" and self._bisect_found(),
            conflicted=frozenset(snap.conflicted),
        )

    def _bisect_found(self) -> bool:
        text = _read_text(self.git_dir / "BISECT_LOG", limit=64 * 1024) or ""
        return "# first bad commit:" in text

    def _commits(
        self, now: float, old: RepoSnapshot, new: RepoSnapshot, reflog: list[tuple[str, str, str]] | None
    ) -> list[EventBase]:
        found: list[tuple[str, str | None]] = []  # (sha, branch it was made on)
        if reflog is not None:
            branch, heads = old.branch, None
            for _, sha, msg in reflog:
                moved = _CHECKOUT.match(msg)
                if moved:
                    heads = heads if heads is not None else {h.name for h in self._repo.heads}
                    branch = moved.group(1) if moved.group(1) in heads else None
                elif _COMMIT_ACTIONS.match(msg) or _MERGE_COMMIT.match(msg):
                    found.append((sha, branch))
        elif new.head and new.head != old.head and new.branch == old.branch:
            rng = f"{old.head}..{new.head}" if old.head else new.head
            out = self._git.rev_list("--reverse", f"--max-count={MAX_COMMITS}", rng, kill_after_timeout=GIT_TIMEOUT_S)
            found = [(sha, new.branch) for sha in out.split()]
        events: list[EventBase] = []
        for sha, branch in found[-MAX_COMMITS:]:
            try:
                summary = self._repo.commit(sha).summary
            except (ValueError, git.BadName):  # pruned by an amend + gc in between: skip
                continue
            summary = summary if isinstance(summary, str) else summary.decode("utf-8", "replace")
            events.append(GitCommitted(time=now, repo=str(self.root), sha=sha[:7], summary=summary, branch=branch))
        return events


def _parse_status(out: str) -> tuple[str | None, str | None, list[str], list[str]]:
    """(head sha, branch, staged paths, unmerged paths) from ``git status --porcelain=v2 -z --branch``."""
    head: str | None = None
    branch: str | None = None
    staged: list[str] = []
    conflicted: list[str] = []
    records = out.split("\0")
    i = 0
    while i < len(records):
        rec = records[i]
        i += 1
        if rec.startswith("# branch.oid "):
            oid = rec[len("# branch.oid ") :]
            head = None if oid == "(initial)" else oid
        elif rec.startswith("# branch.head "):
            name = rec[len("# branch.head ") :]
            branch = None if name == "(detached)" else name
        elif rec.startswith("1 "):
            fields = rec.split(" ", 8)
            if fields[1][0] != ".":
                staged.append(fields[8])
        elif rec.startswith("2 "):
            fields = rec.split(" ", 9)
            if fields[1][0] != ".":
                staged.append(fields[9])
            i += 1  # the original path follows as its own record
        elif rec.startswith("u "):
            conflicted.append(rec.split(" ", 10)[10])
    return head, branch, staged, conflicted


def _read_text(path: Path, limit: int = 4096) -> str | None:
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                fh.seek(size - limit)
            return fh.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


def _glob_for(path: Path) -> str:
    parts = path.parts
    if ".git" in parts:
        i = parts.index(".git")
        return "**/" + "/".join(parts[i:])
    return path.as_posix()
