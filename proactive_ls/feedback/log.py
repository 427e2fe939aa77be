"""The feedback log: an append-only JSON Lines file, one record per outcome of a proposal.

A record is written, flushed and fsynced before the outcome is acknowledged, so an
acknowledged outcome survives a crash. A crash mid-write leaves at most one torn line;
the writer starts its next record on a fresh line and readers skip what does not parse.
The format is documented in docs/feedback-log.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from proactive_ls.feedback.lifecycle import log_lock
from proactive_ls.proposals import Proposal

SCHEMA_VERSION = 1
Outcome = Literal["accepted", "rejected", "ignored", "snoozed", "filtered"]
log = logging.getLogger(__name__)


class FeedbackRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    record_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    session_id: str = ""
    proposal_id: str
    outcome: Outcome
    proposed_at: float
    decided_at: float
    task: str
    message: str
    purpose: str | None = None
    thoughts: str | None = None
    operation: str = Field(description="the kind of operation accepting performs")
    anchor: dict[str, Any] | None = None
    observations: list[dict[str, str]] = Field(
        default_factory=list, description="the history that produced the proposal"
    )
    proposer: str
    model: str | None = None
    judge: str | None = None
    judge_score: float | None = None
    judge_reason: str | None = None
    detail: str | None = Field(default=None, description="e.g. the snooze length, or why the operation failed")
    kind: str | None = Field(default=None, description="what the proposal is about (control/kinds.py); None before")
    language: str | None = Field(default=None, description="the language of the document it concerns")
    late_by_s: float | None = Field(
        default=None, description="an answer after it was recorded ignored or snoozed: seconds after that record"
    )
    context: dict[str, str] | None = Field(
        default=None, description="what the per-user model learns it under: kind, language, folder, command"
    )

    @classmethod
    def of(
        cls,
        proposal: Proposal,
        outcome: Outcome,
        decided_at: float,
        session_id: str = "",
        detail: str | None = None,
        late_by_s: float | None = None,
        context: dict[str, str] | None = None,
    ) -> FeedbackRecord:
        v = proposal.verdict
        return cls(
            session_id=session_id,
            proposal_id=proposal.id,
            outcome=outcome,
            proposed_at=proposal.created_at,
            decided_at=decided_at,
            task=proposal.task,
            message=proposal.message,
            purpose=proposal.purpose,
            thoughts=proposal.thoughts,
            operation=proposal.operation.kind,
            anchor=proposal.anchor.model_dump() if proposal.anchor else None,
            observations=proposal.observations,
            proposer=proposal.proposer,
            model=proposal.model,
            judge=v.judge if v else None,
            judge_score=v.score if v else None,
            judge_reason=v.reason if v else None,
            detail=detail,
            kind=proposal.kind,
            language=proposal.language,
            late_by_s=late_by_s,
            context=context,
        )


RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0


class FeedbackLog:
    """Appends records durably. Thread-safe; use :meth:`append` from async code.

    When the log cannot be written (a full disk, a removed folder), :meth:`append` keeps the
    record in memory, in order, tells the user once in plain words, and retries: at every later
    append and on a timer with backoff. So an answer is never refused and never silently lost.
    """

    def __init__(self, path: Path, notify: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.notify = notify
        self._lock = threading.Lock()
        self._unwritten: list[FeedbackRecord] = []
        self._told = False
        self._retry: asyncio.TimerHandle | None = None
        self._retry_s = RETRY_FIRST_S
        self._flushing = asyncio.Lock()
        self.last_error: str | None = None

    @property
    def unwritten(self) -> int:
        """Records kept in memory because the log could not be written yet."""
        return len(self._unwritten)

    def _ensure_fresh_line(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                os.write(fd, b"\n")

    def append_sync(self, record: FeedbackRecord) -> None:
        line = (record.model_dump_json() + "\n").encode("utf-8")
        with self._lock, log_lock(self.path):  # the file lock: a rotation or purge never loses an append
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                self._ensure_fresh_line(fd)
                written = 0
                while written < len(line):
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                os.close(fd)

    async def append(self, record: FeedbackRecord) -> None:
        """Write ``record`` after any kept back; on failure keep it (never raises OSError)."""
        self._unwritten.append(record)
        await self.flush()

    async def flush(self) -> bool:
        """Write the records kept in memory, in order; whether all are on disk now."""
        async with self._flushing:
            return await self._flush()

    async def _flush(self) -> bool:
        while self._unwritten:
            try:
                await asyncio.to_thread(self.append_sync, self._unwritten[0])
            except OSError as exc:
                self._failed(exc)
                return False
            self._unwritten.pop(0)
        if self.last_error is not None:
            log.warning("the feedback log %s is writable again; every kept answer is written", self.path)
            if self._told and self.notify is not None:
                self.notify(f"proactive-ls can write its feedback log again ({self.path}); no answer was lost.")
            self.last_error, self._told, self._retry_s = None, False, RETRY_FIRST_S
        return True

    def _failed(self, exc: OSError) -> None:
        self.last_error = exc.strerror or str(exc)
        log.error("cannot write the feedback log %s: %s; %d answer(s) kept in memory", self.path, exc, self.unwritten)
        if not self._told:
            self._told = True
            if self.notify is not None:
                self.notify(
                    f"proactive-ls cannot write its feedback log ({self.path}: {self.last_error}). Your answers are "
                    "kept in memory and written as soon as it can; nothing is lost unless the server stops first."
                )
        if self._retry is None or self._retry.cancelled():
            loop = asyncio.get_running_loop()
            self._retry = loop.call_later(self._retry_s, lambda: asyncio.ensure_future(self._retry_now()))
            self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)

    async def _retry_now(self) -> None:
        self._retry = None
        await self.flush()

    def close(self) -> None:
        """Stop retrying (at shutdown); what is still unwritten is logged, not silently dropped."""
        if self._retry is not None:
            self._retry.cancel()
        if self._unwritten:
            log.error("%d answer(s) could not be written to %s: %s", self.unwritten, self.path, self.last_error)


def iter_records(path: Path, *, strict: bool = False) -> Iterator[FeedbackRecord]:
    """Stream the records of a log in order, in constant memory.

    Lines that do not parse (a torn last line after a crash, a stray edit) are skipped with a
    warning; with ``strict`` they raise instead.
    """
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield FeedbackRecord.model_validate(json.loads(raw))
            except (ValueError, ValidationError) as exc:
                if strict:
                    raise ValueError(f"{path}:{number}: not a feedback record: {exc}") from exc
                log.warning("%s:%d: skipping a line that is not a feedback record", path, number)
