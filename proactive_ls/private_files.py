"""Files the server writes for the user alone: created 0600 (whatever the umask), so another user
of the machine cannot read what they hold (model output, redacted history, learned state)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def write_private(path: Path, text: str) -> Path:
    """Write `text` to `path` with mode 0600 (an existing file is truncated and made 0600 too)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            fd = -1
            f.write(text)
    finally:
        if fd != -1:
            os.close(fd)
    return path


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created 0600): what every server of the user takes
    before it changes a file they share (the feedback log, the pause and mute store, learned state)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def remove_files(paths: Iterable[Path]) -> None:
    """Delete files the server wrote for one session (a missing one is fine; a failure is logged)."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)


__all__ = ["exclusive_lock", "remove_files", "write_private"]
