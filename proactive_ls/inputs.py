"""The session's inputs: everything an editor can tell proactive-ls, as one closed vocabulary.

`Session.apply(input)` is the only way an event enters. The server turns each LSP message into
one of these (``proactive_ls.lsp.protocol``), a replay file is a list of them with their times
(docs/replay-format.md), and the replay over LSP turns them back into the messages an editor
would send. No LSP here: these are plain pydantic models.

An input from the editor carries absolute URIs and no time (the session stamps it with its
clock); an input read from a replay file may use paths relative to its workspace and must carry
its time. :meth:`resolved` turns the second kind into the first.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic.alias_generators import to_camel

from proactive_ls.sensing.diagnostics import LspDiagnostic, LspRange
from proactive_ls.sensing.documents import Change
from proactive_ls.sensing.paths import path_to_uri

MAX_OUTPUT_CHARS = 64 * 1024  # editors send at most this much of a command's output; the rest is cut
MAX_STRING_CHARS = 8 * 1024 * 1024  # one string of a message (a whole document's text at most)
MAX_EVENT_CHARS = 64 * 1024  # a ready-made event, as JSON
TIME_WINDOW_S = 24 * 3600.0  # an event's own time may be this far from the session's clock
MAX_DURATION_MS = 30 * 24 * 3600 * 1000

_EVENT_JSON = json.JSONEncoder(default=str)  # json.dumps(default=str) makes one for every call
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` as valid Unicode: a lone UTF-16 surrogate (JSON allows ``"\\udc80"``) becomes U+FFFD,
    which keeps every position (one UTF-16 unit for one) and can be encoded, written and sent."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def clean_json(value: Any, depth: int = 0) -> Any:
    """Plain JSON params with every string made valid Unicode; raises ValueError for one too long or
    nested too deep (a message is bounded at the edge, before anything looks at it)."""
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise ValueError(f"a string of {len(value)} characters is longer than {MAX_STRING_CHARS}")
        return clean_text(value)
    if depth > 32:
        raise ValueError("nested deeper than 32 levels")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def check_event_time(time: Any, now: float) -> None:
    """An event's own time must be a finite number within :data:`TIME_WINDOW_S` of the clock."""
    if isinstance(time, bool) or not isinstance(time, int | float):
        raise ValueError("an event's 'time' must be a number (unix seconds)")
    if not math.isfinite(time) or abs(time - now) > TIME_WINDOW_S:
        raise ValueError(f"an event's 'time' ({time!r}) must be within a day of now")


class _Input(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    time: float | None = Field(default=None, description="unix seconds; none: when the session receives it")

    def resolved(self, workspace: Path) -> Self:
        """This input as an editor would send it for `workspace` (absolute URIs and folders)."""
        return self


class _DocumentInput(_Input):
    path: str | None = Field(default=None, description="relative to the workspace")
    uri: str | None = None

    def resolve_uri(self, workspace: Path) -> str:
        if self.uri:
            return self.uri
        if not self.path:
            raise ValueError("an action on a document needs 'path' or 'uri'")
        return path_to_uri(workspace / self.path)

    def resolved(self, workspace: Path) -> Self:
        return self.model_copy(update={"uri": self.resolve_uri(workspace), "path": None})

    def document_uri(self) -> str:
        if not self.uri:
            raise ValueError("an input from the editor needs a 'uri'")
        return self.uri


class OpenInput(_DocumentInput):
    """The editor opened a document (``textDocument/didOpen``)."""

    action: Literal["open"] = "open"
    language_id: str = ""
    text: str | None = Field(default=None, description="default: the file's content on disk")
    version: int = 0

    def resolved(self, workspace: Path) -> Self:
        text = self.text
        if text is None:
            text = (workspace / (self.path or "")).read_text(encoding="utf-8")
        return self.model_copy(update={"uri": self.resolve_uri(workspace), "path": None, "text": text})


class RangeChange(BaseModel):
    """One content change: `range` replaced by `text`, or (no range) the whole text."""

    model_config = ConfigDict(extra="forbid")
    range: LspRange | None = None
    text: str

    def change(self) -> Change:
        if self.range is None:
            return Change(self.text)
        start, end = self.range.start, self.range.end
        return Change(self.text, (start.line, start.character), (end.line, end.character))


class ChangeInput(_DocumentInput):
    """The editor changed a document (``textDocument/didChange``)."""

    action: Literal["change"] = "change"
    version: int = 0
    changes: list[RangeChange]


class SaveInput(_DocumentInput):
    """The editor saved a document (``textDocument/didSave``)."""

    action: Literal["save"] = "save"
    text: str | None = Field(default=None, description="the saved text, when the editor sends it")


class CloseInput(_DocumentInput):
    """The editor closed a document (``textDocument/didClose``)."""

    action: Literal["close"] = "close"


class TerminalInput(_Input):
    """A command finished in the editor's terminal (``proactive/terminalCommand``)."""

    action: Literal["terminal"] = "terminal"
    command_line: str = Field(max_length=10_000)
    cwd: str | None = Field(default=None, description="relative to the workspace in a replay file")
    exit_code: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1)
    output: str = ""
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_DURATION_MS)

    def resolved(self, workspace: Path) -> Self:
        cwd = str((workspace / self.cwd).resolve()) if self.cwd else str(workspace)
        return self.model_copy(update={"cwd": cwd})

    def output_tail(self) -> str:
        return self.output[-MAX_OUTPUT_CHARS:]


class DiagnosticsInput(_DocumentInput):
    """Another language server's diagnostics for a document (``proactive/diagnostics``)."""

    action: Literal["diagnostics"] = "diagnostics"
    diagnostics: list[LspDiagnostic] = Field(max_length=10_000)


class EventInput(_Input):
    """A ready-made event of docs/events.md (``proactive/event``)."""

    action: Literal["event"] = "event"
    event: dict[str, Any]

    @field_validator("event")
    @classmethod
    def _bounded(cls, event: dict[str, Any]) -> dict[str, Any]:
        if len(_EVENT_JSON.encode(event)) > MAX_EVENT_CHARS:
            raise ValueError(f"an event is at most {MAX_EVENT_CHARS} characters of JSON")
        return event

    def resolved(self, workspace: Path) -> Self:
        # The input's time is the event's time: the session stamps it when the event has none.
        if "time" not in self.event:
            return self
        return self.model_copy(update={"event": {k: v for k, v in self.event.items() if k != "time"}})


Input = Annotated[
    OpenInput | ChangeInput | SaveInput | CloseInput | TerminalInput | DiagnosticsInput | EventInput,
    Field(discriminator="action"),
]
InputAdapter: TypeAdapter[Input] = TypeAdapter(Input)
INPUT_TYPES: tuple[type[_Input], ...] = (
    OpenInput,
    ChangeInput,
    SaveInput,
    CloseInput,
    TerminalInput,
    DiagnosticsInput,
    EventInput,
)

__all__ = [
    "MAX_EVENT_CHARS",
    "MAX_STRING_CHARS",
    "TIME_WINDOW_S",
    "check_event_time",
    "clean_json",
    "clean_text",
    "ChangeInput",
    "CloseInput",
    "DiagnosticsInput",
    "EventInput",
    "INPUT_TYPES",
    "Input",
    "InputAdapter",
    "MAX_OUTPUT_CHARS",
    "OpenInput",
    "RangeChange",
    "SaveInput",
    "TerminalInput",
]
