"""The feedback log over time: rotation into dated segments, retention, purge.

A log is its active file (``feedback.jsonl``) and the segments rotated out of it
(``feedback.20261202T014900Z.jsonl``, sorted by name = by time), read in that order by every
reader (:func:`segments`: export, stats, report). Everything that moves or rewrites a file holds
an exclusive lock on ``<log>.lock``, which the writer takes for each append too, so a record
appended while a purge or rotation runs lands in the new file: nothing is lost. A rewrite is a
temporary file replacing the old one atomically; lines that do not parse are kept (they cannot be
dated), so a purge never loses what it cannot judge.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from proactive_ls.private_files import exclusive_lock

_STAMP = re.compile(r"^\d{8}T\d{6}(?:\.\d+)?Z$")
DAY_S = 86400.0


def log_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """The lock every writer of this log takes (appends, rotation, purge)."""
    return exclusive_lock(path.with_name(path.name + ".lock"))


def rotated(path: Path) -> list[Path]:
    """The segments rotated out of the log, oldest first."""
    if not path.parent.is_dir():
        return []
    found = []
    for p in path.parent.glob(f"{path.stem}.*{path.suffix}"):
        stamp = p.name[len(path.stem) + 1 : len(p.name) - len(path.suffix)]
        if _STAMP.match(stamp):
            found.append(p)
    return sorted(found)


def segments(path: Path) -> list[Path]:
    """Every file of the log in order: the rotated segments, then the active file (if it exists)."""
    return [*rotated(path), *([path] if path.is_file() else [])]


def rotate(path: Path, max_bytes: int, now: float | None = None) -> Path | None:
    """Move the active file to a dated segment once it holds `max_bytes`; the segment, or None."""
    with log_lock(path):
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        if size < max_bytes:
            return None
        when = time.gmtime(now if now is not None else time.time())
        stamp = time.strftime("%Y%m%dT%H%M%SZ", when)
        target = path.with_name(f"{path.stem}.{stamp}{path.suffix}")
        n = 1
        while target.exists():  # two rotations in one second
            target = path.with_name(f"{path.stem}.{stamp[:-1]}.{n}Z{path.suffix}")
            n += 1
        os.rename(path, target)
        return target


@dataclass
class PurgeResult:
    removed: int = 0
    kept: int = 0
    files_removed: int = 0


def _decided_at(raw: bytes) -> float | None:
    try:
        value = json.loads(raw).get("decided_at")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def purge(path: Path, before: float | None) -> PurgeResult:
    """Remove the records decided before `before` (None: every record) from every file of the log."""
    result = PurgeResult()
    with log_lock(path):
        for segment in segments(path):
            kept: list[bytes] = []
            removed = 0
            with open(segment, "rb") as f:
                for raw in f:
                    if not raw.strip():
                        continue
                    at = _decided_at(raw)
                    if before is None or (at is not None and at < before):
                        removed += 1
                    else:
                        kept.append(raw if raw.endswith(b"\n") else raw + b"\n")
            result.removed += removed
            result.kept += len(kept)
            if not removed:
                continue
            if not kept and segment != path:
                segment.unlink()
                result.files_removed += 1
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{segment.name}.", dir=segment.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.writelines(kept)
                    out.flush()
                    os.fsync(out.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, segment)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
    return result


def maintain(path: Path, retain_days: float | None, rotate_bytes: int | None, now: float | None = None) -> PurgeResult:
    """What a server does at start and on a settings change: rotate a large log, drop old records."""
    now = time.time() if now is None else now
    if rotate_bytes:
        rotate(path, rotate_bytes, now)
    if retain_days is None:
        return PurgeResult()
    return purge(path, now - retain_days * DAY_S)


__all__ = ["PurgeResult", "log_lock", "maintain", "purge", "rotate", "rotated", "segments"]
