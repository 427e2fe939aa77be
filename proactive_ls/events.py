"""Events: what the developer did, as typed records that read as one English sentence.

Every source (the editor, the terminal, diagnostics, git, a replayed trace) produces these models;
the engine keeps them as the history, and a model sees them in the ProactiveBench observation
format, ``{"Time": ..., "Event": ...}``, through :func:`render_history`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceLocation(_Model):
    """A place in a file, 1-based line and column as tools print them."""

    path: str
    line: int = Field(ge=1)
    column: int | None = Field(default=None, ge=1)


class Failure(_Model):
    """What a failed terminal command reported, as understood by a parser."""

    tool: str = Field(description="the parser that understood the output: pytest, python, mypy, ...")
    title: str = Field(
        description="the failing test or the error, e.g. 'test_parse_empty' or 'ZeroDivisionError: division by zero'"
    )
    summary: str = Field(description="a short clause, e.g. '2 tests failed in 'tests/test_io.py''")
    failed: int = Field(default=1, ge=0, description="how many tests or errors failed")
    location: SourceLocation | None = None
    locations: list[SourceLocation] = Field(default_factory=list, description="every failure location, bounded")


class DiagnosticInfo(_Model):
    line: int = Field(ge=0, description="0-based, as in LSP")
    character: int = Field(default=0, ge=0)
    end_line: int | None = None
    end_character: int | None = None
    message: str
    source: str | None = None
    severity: int = 1


def _q(text: str) -> str:
    return f"'{text}'"


class EventBase(_Model):
    time: float = Field(description="unix seconds")
    uri: str | None = Field(default=None, description="the document this event concerns")
    path: str | None = Field(default=None, description="its path as shown to the user, relative to the workspace")
    repo: str | None = Field(default=None, description="the repository root this event concerns")

    def sentence(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def where(self) -> str:
        return _q(self.path or self.uri or "an untitled document")


class DocumentOpened(EventBase):
    """The client opened a document (didOpen)."""

    kind: Literal["document.opened"] = "document.opened"
    language_id: str = Field(default="", description="the LSP languageId")
    line_count: int = Field(default=0, description="0 when the content is not tracked (binary or too large)")

    def sentence(self) -> str:
        return f"The user opens {self.where} ({self.line_count} lines)."


class DocumentEdited(EventBase):
    """A burst of changes in one document, coalesced after `editQuietMs` of quiet."""

    kind: Literal["document.edited"] = "document.edited"
    lines_changed: int = Field(default=0, ge=0, description="lines from the first to the last touched")
    first_line: int = Field(default=0, ge=0, description="0-based first line touched")
    last_line: int = Field(default=0, ge=0, description="0-based last line touched")
    definitions: list[str] = Field(
        default_factory=list, description="enclosing definitions touched, e.g. 'function `parse_args`'"
    )
    added: list[str] = Field(default_factory=list, description="definitions that appeared")
    removed: list[str] = Field(default_factory=list, description="definitions that disappeared")
    renamed: list[tuple[str, str]] = Field(default_factory=list, description="(old, new) definition names")

    def sentence(self) -> str:
        n = self.lines_changed
        amount = f"{n} line{'s' if n != 1 else ''} changed"
        extras: list[str] = []
        if self.added:
            extras.append("adds " + ", ".join(self.added))
        if self.removed:
            extras.append("removes " + ", ".join(self.removed))
        if self.renamed:
            extras.append("renames " + ", ".join(f"{old} to {new}" for old, new in self.renamed))
        if self.definitions:
            what = "edits " + ", ".join(self.definitions[:3]) + f" in {self.where}"
        else:
            what = f"edits {self.where} around line {self.first_line + 1}"
        tail = f" and {' and '.join(extras)}" if extras else ""
        return f"The user {what}{tail} ({amount})."


class DocumentSaved(EventBase):
    """The client saved a document (didSave); `errors` counts the forwarded errors it still has."""

    kind: Literal["document.saved"] = "document.saved"
    errors: int = Field(default=0, ge=0, description="errors known in the file when it was saved")

    def sentence(self) -> str:
        if self.errors:
            return f"The user saves {self.where}, which still has {self.errors} error{'s' if self.errors != 1 else ''}."
        return f"The user saves {self.where}."


class DocumentClosed(EventBase):
    """The client closed a document (didClose)."""

    kind: Literal["document.closed"] = "document.closed"

    def sentence(self) -> str:
        return f"The user closes {self.where}."


class TerminalCommand(EventBase):
    """A command finished in the terminal (proactive/terminalCommand), with its failure if a parser understood it."""

    kind: Literal["terminal.command"] = "terminal.command"
    command_line: str
    cwd: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    failure: Failure | None = None
    output_tail: str = Field(default="", description="the last lines of output, redacted and bounded")

    def sentence(self) -> str:
        ran = f"The user ran {_q(self.command_line)} in the terminal"
        if self.failure is not None:
            return f"{ran}; {self.failure.summary}."
        if self.exit_code is None:
            return f"{ran}."
        if self.exit_code == 0:
            return f"{ran}; it succeeded."
        return f"{ran}; it failed with exit code {self.exit_code}."


class DiagnosticsChanged(EventBase):
    """Errors appeared or were resolved in forwarded diagnostics (proactive/diagnostics)."""

    kind: Literal["diagnostics.changed"] = "diagnostics.changed"
    errors: int = Field(ge=0)
    warnings: int = Field(default=0, ge=0)
    new_errors: int = Field(default=0, ge=0)
    resolved_errors: int = Field(default=0, ge=0)
    first_error: DiagnosticInfo | None = None
    items: list[DiagnosticInfo] = Field(default_factory=list, description="the errors, bounded")

    def sentence(self) -> str:
        parts: list[str] = []
        if self.new_errors:
            parts.append(f"{self.new_errors} new error{'s' if self.new_errors != 1 else ''} appear")
        if self.resolved_errors:
            parts.append(f"{self.resolved_errors} error{'s' if self.resolved_errors != 1 else ''} are resolved")
        change = " and ".join(parts) or "the diagnostics change"
        first = ""
        if self.first_error is not None and self.errors:
            first = f", the first at line {self.first_error.line + 1}: {self.first_error.message}"
        errors = f"{self.errors} error{'s' if self.errors != 1 else ''} remain{'s' if self.errors == 1 else ''}"
        return f"In {self.where}, {change}; {errors}{first}."


class SyntaxErrorFound(EventBase):
    """tree-sitter finds a syntax error that persisted over two quiet periods, or at a save."""

    kind: Literal["syntax.error"] = "syntax.error"
    line: int = Field(ge=0, description="0-based line of the first error")
    column: int = Field(default=0, ge=0, description="0-based, in the LSP position encoding (UTF-16 unless negotiated)")
    count: int = Field(default=1, ge=1, description="syntax errors in the file")
    on_save: bool = False
    missing: str | None = Field(default=None, description="what tree-sitter reports as missing, if any")

    def sentence(self) -> str:
        how = "saved" if self.on_save else "left"
        more = f" ({self.count} syntax errors in all)" if self.count > 1 else ""
        return f"The user {how} {self.where} with a syntax error at line {self.line + 1}{more}."


class GitBranchSwitched(EventBase):
    """HEAD moved to another branch."""

    kind: Literal["git.branch"] = "git.branch"
    old: str | None = None
    new: str | None = None

    def sentence(self) -> str:
        return (
            f"The user switches from branch {_q(self.old or 'a detached HEAD')} to {_q(self.new or 'a detached HEAD')}."
        )


class GitCommitted(EventBase):
    """A new commit appeared on the current branch."""

    kind: Literal["git.commit"] = "git.commit"
    sha: str
    summary: str
    branch: str | None = None

    def sentence(self) -> str:
        on = f" on {_q(self.branch)}" if self.branch else ""
        return f"The user commits {_q(self.summary)}{on}."


class GitStaged(EventBase):
    """The set of staged files changed."""

    kind: Literal["git.staged"] = "git.staged"
    files: list[str] = Field(default_factory=list)

    def sentence(self) -> str:
        n = len(self.files)
        shown = ", ".join(_q(f) for f in self.files[:3]) + (" ..." if n > 3 else "")
        return f"The user stages {n} file{'s' if n != 1 else ''} ({shown})."


class GitOperation(EventBase):
    """A merge, rebase, cherry-pick, revert or bisect started, finished or was aborted."""

    kind: Literal["git.operation"] = "git.operation"
    operation: Literal["merge", "rebase", "cherry-pick", "revert", "bisect"]
    state: Literal["started", "finished", "aborted"] = "started"
    conflicted: list[str] = Field(default_factory=list)

    def sentence(self) -> str:
        if self.state != "started":
            return f"The {self.operation} is {self.state}."
        if self.conflicted:
            n = len(self.conflicted)
            shown = ", ".join(_q(f) for f in self.conflicted[:3]) + (" ..." if n > 3 else "")
            return f"A {self.operation} is in progress with {n} conflicted file{'s' if n != 1 else ''}: {shown}."
        return f"A {self.operation} is in progress."


class GitWorktreeChanged(EventBase):
    """The size of the uncommitted diff changed meaningfully."""

    kind: Literal["git.worktree"] = "git.worktree"
    files: int = Field(ge=0)
    insertions: int = Field(default=0, ge=0)
    deletions: int = Field(default=0, ge=0)

    def sentence(self) -> str:
        return (
            f"The uncommitted changes now span {self.files} file{'s' if self.files != 1 else ''} "
            f"(+{self.insertions} -{self.deletions} lines)."
        )


class Observation(EventBase):
    """A sentence from elsewhere, kept as it is (a ProactiveBench trace step, a client's own event)."""

    kind: Literal["observation"] = "observation"
    text: str

    def sentence(self) -> str:
        return self.text


Event = Annotated[
    DocumentOpened
    | DocumentEdited
    | DocumentSaved
    | DocumentClosed
    | TerminalCommand
    | DiagnosticsChanged
    | SyntaxErrorFound
    | GitBranchSwitched
    | GitCommitted
    | GitStaged
    | GitOperation
    | GitWorktreeChanged
    | Observation,
    Field(discriminator="kind"),
]
EventAdapter: TypeAdapter[Any] = TypeAdapter(Event)


def parse_event(data: dict[str, Any]) -> EventBase:
    """Validate a JSON object into its event model (raises pydantic.ValidationError)."""
    event: EventBase = EventAdapter.validate_python(data)
    return event


def render_time(t: float) -> str:
    """Absolute local time, so a rendered step never changes once written (prefix caching)."""
    whole = math.floor(t)
    if t - whole < 0.999:  # the same second as `whole` (no rounding up to the next one): shared
        return _render_second(whole)
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


@functools.lru_cache(maxsize=4096)
def _render_second(t: int) -> str:
    # Kept per second: each event is rendered when it is observed, then again for every proposal,
    # judge and model request its history goes into, and the date format costs more than the sentence.
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def render_step(event: EventBase) -> dict[str, str]:
    return {"Time": render_time(event.time), "Event": event.sentence()}


def render_history(events: Sequence[EventBase]) -> list[dict[str, str]]:
    """The ProactiveBench observation list: ``[{"Time": ..., "Event": ...}, ...]``."""
    return [render_step(e) for e in events]
