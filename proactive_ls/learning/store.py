"""Where the per-user model lives: folded from the feedback log, cached in the user data folder.

The feedback log is the truth: every answer is one fsynced line appended to it, by whichever
server (editor window) got the answer. The model is a fold over those lines, so it is shared by
every server writing to that log and no concurrent answer can be lost: each server, before it
decides and after each answer it records, reads the lines appended since it last looked (one
``stat`` when there are none) and folds them in. The snapshot,
``<user data>/learning/<log id>.json``, is a cache of that fold and of how far into the log it
got, so a restart does not re-read the whole log; it is written atomically under a file lock,
and only when it is further along than the one on disk. A missing, corrupt or stale snapshot
(the log was rotated, replaced or truncated) is rebuilt from the log, its rotated segments
first. ``reset`` writes a marker with the time: answers decided before it are not learnt from, in
every server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from proactive_ls.learning.context import record_context
from proactive_ls.learning.model import LABELS, UserModel, logit
from proactive_ls.private_files import exclusive_lock, write_private

log = logging.getLogger(__name__)

FORMAT = "proactive-ls-learning"
VERSION = 2  # 2: a weight on the judge's logit (older snapshots are rebuilt from the log)
#: The prior of a proposal whose judge gave no score (the embedded rules with no judge).
DEFAULT_PRIOR = 0.6
HEAD_BYTES = 512
#: A decision looks for a reset marker at most this often (a status, and every answer, always look):
#: a reset is a person running a command, and one ``stat`` fewer keeps the per-user step cheap.
RESET_CHECK_S = 1.0
LEARNED = "learned:"  # filtered records the model suppressed start their detail with this


def state_dir() -> Path:
    from proactive_ls.config import data_dir

    return data_dir() / "learning"


def log_id(log_path: Path) -> str:
    return hashlib.sha256(str(Path(log_path).expanduser().absolute()).encode()).hexdigest()[:16]


def prior_logit(score: float | None) -> float:
    return logit(score if score is not None else DEFAULT_PRIOR)


def fold(model: UserModel, record: dict[str, Any], after: float = 0.0) -> None:
    """One feedback record into the model (records that say nothing, or older than a reset, are skipped)."""
    decided = record.get("decided_at")
    if after and isinstance(decided, (int, float)) and decided < after:
        return
    outcome = record.get("outcome")
    if outcome in LABELS:
        score = record.get("judge_score")
        model.learn(record_context(record), prior_logit(score if isinstance(score, (int, float)) else None), outcome)
    elif outcome == "filtered" and str(record.get("detail") or "").startswith(LEARNED):
        model.suppressed(record_context(record))


def _head(path: Path, length: int) -> str:
    """A digest of the log's first `length` bytes (which an append never changes): "" if unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read(length)
    except OSError:
        return ""
    return f"{length}:" + hashlib.sha256(data).hexdigest()[:16] if len(data) == length else ""


def _length(head: str) -> int:
    try:
        return int(head.partition(":")[0])
    except ValueError:
        return HEAD_BYTES


class LearningStore:
    """The model for one feedback log, kept in step with it."""

    def __init__(self, log_path: Path, directory: Path | None = None) -> None:
        self.log_path = Path(log_path)
        self.directory = directory if directory is not None else state_dir()
        ident = log_id(self.log_path)
        self.path = self.directory / f"{ident}.json"
        self.reset_path = self.directory / f"{ident}.reset"
        self.model = UserModel()
        self.offset = 0  # bytes of the log folded into the model
        self.start = 0.0  # answers decided before this (a reset) are not learnt from
        self.head = ""
        self.rebuilt: str | None = None  # why the model was last rebuilt from the log, if it was
        self._reset_mtime: int | None = None
        self._reset_checked = -math.inf  # time.monotonic() of the last look for a reset marker
        self._log_size = -1
        self._load()

    # -- loading ---------------------------------------------------------------------------------
    def _read_start(self) -> float:
        try:
            st = os.stat(self.reset_path)
            self._reset_mtime = st.st_mtime_ns
            return float(json.loads(self.reset_path.read_text(encoding="utf-8"))["after"])
        except FileNotFoundError:
            self._reset_mtime = None
            return 0.0
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("%s is not a reset marker; learning from the whole log", self.reset_path)
            return 0.0

    def _load(self) -> None:
        self.start = self._read_start()
        why = None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                why = "not a learning state of this version"
            elif data.get("log") != str(self.log_path) or data.get("start") != self.start:
                why = "it was made for another log or before a reset"
            else:
                offset, head = int(data["offset"]), str(data["head"])
                size = self._size()
                if offset > size or (offset and head != _head(self.log_path, _length(head))):
                    why = "the feedback log was replaced or truncated"
                else:
                    self.model = UserModel.from_json(data["model"])
                    self.offset, self.head = offset, head
        except FileNotFoundError:
            why = "there was no state file"
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            why = f"the state file is corrupt ({exc.__class__.__name__})"
        if why is not None:
            self._rebuild(why)

    def _rebuild(self, why: str) -> None:
        log.info("rebuilding the learning state from %s: %s", self.log_path, why)
        self.rebuilt = why
        self.model = UserModel()
        self.offset = 0
        self.head = ""
        self._log_size = -1
        from proactive_ls.feedback.lifecycle import rotated

        for segment in rotated(self.log_path):  # the log's older segments, oldest first
            try:
                data = segment.read_bytes()
            except OSError:
                continue
            for line in data.splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    fold(self.model, record, self.start)
        self.sync(save=True)

    def _size(self) -> int:
        try:
            return os.stat(self.log_path).st_size
        except OSError:
            return 0

    # -- keeping up ------------------------------------------------------------------------------
    def sync(self, save: bool = True, reset: bool = True) -> int:
        """Fold the records appended to the log since the last look; returns how many were new.

        ``reset=False`` (a decision) looks for a reset marker only when the last look is older than
        :data:`RESET_CHECK_S`; the log itself is looked at every time (another window's answer
        counts at the next decision), one ``stat`` when nothing changed.
        """
        clock = time.monotonic()
        if reset or clock - self._reset_checked >= RESET_CHECK_S:
            self._reset_checked = clock
            try:
                reset_mtime: int | None = os.stat(self.reset_path).st_mtime_ns
            except OSError:
                reset_mtime = None
            if reset_mtime != self._reset_mtime:
                self.start = self._read_start()
                self._rebuild("learning was reset")
                return 0
        size = self._size()
        if size == self._log_size == self.offset:
            return 0
        self._log_size = size
        if size < self.offset or (self.head and _head(self.log_path, _length(self.head)) != self.head):
            self._rebuild("the feedback log was rotated or shrank")
            return 0
        if size == self.offset:
            return 0
        new = 0
        for record, end in self._records_from(self.offset, size):
            fold(self.model, record, self.start)
            self.offset = end
            new += 1
        if not self.head and self.offset:
            self.head = _head(self.log_path, min(HEAD_BYTES, self.offset))
        if new and save:
            self.save()
        return new

    def _records_from(self, offset: int, size: int) -> Iterator[tuple[dict[str, Any], int]]:
        """Complete lines from ``offset`` (a line still being written is left for the next look)."""
        try:
            f = open(self.log_path, "rb")
        except OSError:
            return
        with f:
            f.seek(offset)
            data = f.read(size - offset)
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                return
            line = data[pos:nl]
            pos = nl + 1
            end = offset + pos
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                log.warning("%s: skipping a line that is not a feedback record", self.log_path)
                self.offset = end
                continue
            if isinstance(record, dict):
                yield record, end
            else:
                self.offset = end

    # -- writing ---------------------------------------------------------------------------------
    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return exclusive_lock(self.directory / ".lock")

    def save(self) -> None:
        """Write the snapshot, unless the one on disk is as far along (another server wrote it)."""
        try:
            with self._locked():
                try:
                    on_disk = json.loads(self.path.read_text(encoding="utf-8"))
                    if on_disk.get("start") == self.start and int(on_disk.get("offset", -1)) >= self.offset:
                        return
                except (OSError, ValueError, TypeError):
                    pass
                state = {
                    "format": FORMAT,
                    "version": VERSION,
                    "log": str(self.log_path),
                    "start": self.start,
                    "offset": self.offset,
                    "head": self.head,
                    "model": self.model.to_json(),
                }
                fd, tmp = tempfile.mkstemp(prefix=".state.", suffix=".tmp", dir=self.directory)
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as f:
                        json.dump(state, f, separators=(",", ":"))
                        f.flush()
                        os.fsync(f.fileno())
                    os.replace(tmp, self.path)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
        except OSError as exc:  # a read-only data folder: the model still learns, in memory
            log.warning("could not save the learning state to %s: %s", self.path, exc)

    def reset(self) -> None:
        """Forget what was learned: learning starts again from the log's current end, in every server."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._locked():
            tmp = self.reset_path.with_suffix(".tmp")
            write_private(tmp, json.dumps({"after": time.time()}))
            os.replace(tmp, self.reset_path)
        self.start = self._read_start()
        self._rebuild("learning was reset")
