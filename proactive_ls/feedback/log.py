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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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

    @classmethod
    def of(
        cls,
        proposal: Proposal,
        outcome: Outcome,
        decided_at: float,
        session_id: str = "",
        detail: str | None = None,
        late_by_s: float | None = None,
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
        )


class FeedbackLog:
    """Appends records durably. Thread-safe; use :meth:`append` from async code."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

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
        with self._lock:
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
        await asyncio.to_thread(self.append_sync, record)


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
