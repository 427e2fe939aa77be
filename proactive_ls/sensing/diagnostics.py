"""Diagnostics forwarded from other language servers, turned into events only when they change meaningfully.

Language servers republish diagnostics on every keystroke, often with shifted lines; an event
is worth adding to the history only when errors appear or are resolved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from proactive_ls.events import DiagnosticInfo, DiagnosticsChanged

MAX_ITEMS = 20
MAX_MESSAGE_CHARS = 500


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class LspPosition(_Wire):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class LspRange(_Wire):
    start: LspPosition
    end: LspPosition


class LspDiagnostic(_Wire):
    """An LSP Diagnostic as another server published it (forwarded live, or in a replayed session)."""

    range: LspRange
    message: str
    severity: int | None = None
    source: str | None = None

    def info(self) -> DiagnosticInfo:
        return DiagnosticInfo(
            line=self.range.start.line,
            character=self.range.start.character,
            end_line=self.range.end.line,
            end_character=self.range.end.character,
            message=self.message[:MAX_MESSAGE_CHARS],
            source=self.source,
            severity=self.severity or 1,
        )


def _key(d: DiagnosticInfo) -> tuple[str, str | None]:
    # Line numbers are left out: an edit above an error moves it without changing it.
    return (d.message.strip(), d.source)


@dataclass
class _FileState:
    errors: list[DiagnosticInfo] = field(default_factory=list)
    warnings: int = 0


class DiagnosticsState:
    def __init__(self) -> None:
        self._files: dict[str, _FileState] = {}

    def errors(self, uri: str) -> list[DiagnosticInfo]:
        state = self._files.get(uri)
        return list(state.errors) if state else []

    def update(
        self, uri: str, diagnostics: list[DiagnosticInfo], now: float, path: str | None = None
    ) -> DiagnosticsChanged | None:
        """Store the new set; return an event if errors appeared or were resolved."""
        errors = sorted((d for d in diagnostics if d.severity == 1), key=lambda d: (d.line, d.character))
        warnings = sum(1 for d in diagnostics if d.severity == 2)
        old = self._files.get(uri, _FileState())
        before, after = Counter(map(_key, old.errors)), Counter(map(_key, errors))
        new_errors = sum((after - before).values())
        resolved = sum((before - after).values())
        if errors or warnings:
            self._files[uri] = _FileState(errors, warnings)
        else:
            self._files.pop(uri, None)
        if not new_errors and not resolved:
            return None
        return DiagnosticsChanged(
            time=now,
            uri=uri,
            path=path,
            errors=len(errors),
            warnings=warnings,
            new_errors=new_errors,
            resolved_errors=resolved,
            first_error=errors[0] if errors else None,
            items=errors[:MAX_ITEMS],
        )

    def forget(self, uri: str) -> None:
        self._files.pop(uri, None)
