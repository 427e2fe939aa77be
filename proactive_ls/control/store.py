"""The pause and the mutes, kept in one small JSON file of the user's data folder.

Every server of the user (one per editor window) reads the same file, so pausing in one window
pauses them all, and it lasts across restarts. Writers take an exclusive lock on a lock file
beside it, read, change and write a temporary file that replaces the old one atomically, so two
windows muting at the same moment both keep their mute and a reader never sees half a file.
Readers re-read only when the file's stamp changed (one ``stat`` per check).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from proactive_ls.control.kinds import ProposalKind
from proactive_ls.private_files import exclusive_lock
from proactive_ls.sensing.redaction.globs import Glob

log = logging.getLogger(__name__)

CONTROL_FILE = "control.json"


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Mute(_Model):
    """Don't propose this kind (optionally only in this language, or for paths matching this glob)."""

    kind: ProposalKind
    language: str | None = Field(default=None, description="an LSP languageId, e.g. python")
    glob: str | None = Field(default=None, description="a path glob, e.g. tests/** or *.md")
    at: float = Field(default=0.0, description="unix seconds when it was made")

    def same(self, other: Mute) -> bool:
        return (self.kind, self.language, self.glob) == (other.kind, other.language, other.glob)

    def covers(self, kind: ProposalKind, language: str | None, path: PurePosixPath | None) -> bool:
        if kind != self.kind:
            return False
        if self.language is not None and (language or "").lower() != self.language.lower():
            return False
        if self.glob is not None and (path is None or not Glob(self.glob).matches(path)):
            return False
        return True

    def describe(self) -> str:
        where = [f"in {self.language}" if self.language else "", f"for {self.glob}" if self.glob else ""]
        return " ".join([self.kind.value, *[w for w in where if w]])


class ControlState(_Model):
    version: int = 1
    paused: bool = Field(default=False, description="true: paused (until pausedUntil, or until resumed)")
    paused_until: float | None = Field(default=None, description="unix seconds; null with paused: until resumed")
    paused_at: float | None = None
    mutes: list[Mute] = Field(default_factory=list)

    def pause_active(self, now: float) -> bool:
        return self.paused and (self.paused_until is None or now < self.paused_until)

    def wire(self, now: float) -> dict[str, object]:
        return {
            "paused": self.pause_active(now),
            "pausedUntil": self.paused_until if self.pause_active(now) else None,
            "mutes": [m.model_dump(mode="json", by_alias=True) for m in self.mutes],
        }


class ControlStore:
    """One user's control file; safe with many processes reading and writing it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._state = ControlState()

    # -- reading -------------------------------------------------------------------------------
    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changed(self) -> bool:
        """Did another process (or this one) change the file since it was last read?"""
        return self._current_stamp() != self._stamp

    def state(self) -> ControlState:
        """The current state, re-read when the file changed."""
        stamp = self._current_stamp()
        if stamp != self._stamp:
            self._state = self._read()
            self._stamp = stamp
        return self._state

    def _read(self) -> ControlState:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return ControlState()
        except OSError as exc:
            log.warning("cannot read %s: %s; nothing paused or muted", self.path, exc)
            return ControlState()
        try:
            return ControlState.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            log.warning("%s is not a control file (%s); nothing paused or muted", self.path, exc)
            return ControlState()

    # -- writing -------------------------------------------------------------------------------
    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return exclusive_lock(self.path.with_name(self.path.name + ".lock"))

    def update(self, change: Callable[[ControlState], None]) -> ControlState:
        """Read the file under the lock, apply `change`, replace the file atomically; the new state."""
        with self._locked():
            state = self._read()
            change(state)
            data = state.model_dump_json(by_alias=True, indent=2) + "\n"
            fd, tmp = tempfile.mkstemp(prefix=".control-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, 0o600)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
                raise
            self._state, self._stamp = state, self._current_stamp()
            return state

    def pause(self, now: float, minutes: float | None) -> ControlState:
        def change(s: ControlState) -> None:
            s.paused, s.paused_at = True, now
            s.paused_until = None if minutes is None else now + minutes * 60

        return self.update(change)

    def resume(self) -> ControlState:
        def change(s: ControlState) -> None:
            s.paused, s.paused_until, s.paused_at = False, None, None

        return self.update(change)

    def mute(self, mute: Mute) -> ControlState:
        def change(s: ControlState) -> None:
            if not any(m.same(mute) for m in s.mutes):
                s.mutes.append(mute)

        return self.update(change)

    def unmute(self, kind: ProposalKind | None, language: str | None, glob: str | None) -> tuple[ControlState, int]:
        """Remove the mutes of `kind` with that language and glob (None kind: every mute); how many."""
        removed = 0

        def change(s: ControlState) -> None:
            nonlocal removed
            keep = [m for m in s.mutes if kind is not None and (m.kind, m.language, m.glob) != (kind, language, glob)]
            removed = len(s.mutes) - len(keep)
            s.mutes = keep

        return self.update(change), removed


def default_control_path() -> Path:
    from proactive_ls.config import data_dir

    return data_dir() / CONTROL_FILE


__all__ = ["CONTROL_FILE", "ControlState", "ControlStore", "Mute", "default_control_path"]
