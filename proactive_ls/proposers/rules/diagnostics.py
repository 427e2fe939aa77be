"""Errors left in a file after it was saved: offer to go through them."""

from __future__ import annotations

from collections.abc import Sequence

from proactive_ls.events import DiagnosticsChanged, DocumentEdited, DocumentSaved, EventBase
from proactive_ls.proposals import Anchor, OpenLocation, Position, Range, Suggestion
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules import Rule


def _latest(history: Sequence[EventBase], uri: str, kind: type) -> tuple[int, EventBase] | None:
    for i in range(len(history) - 1, -1, -1):
        event = history[i]
        if isinstance(event, kind) and event.uri == uri:
            return i, event
    return None


def errors_after_save(ctx: ProposalContext) -> Suggestion | None:
    touched = [e.uri for e in ctx.new_events if isinstance(e, (DocumentSaved, DiagnosticsChanged)) and e.uri]
    for uri in dict.fromkeys(reversed(touched)):
        saved = _latest(ctx.history, uri, DocumentSaved)
        diags = _latest(ctx.history, uri, DiagnosticsChanged)
        if saved is None or diags is None:
            continue
        edited = _latest(ctx.history, uri, DocumentEdited)
        if edited is not None and edited[0] > saved[0]:
            continue  # still being edited: errors are expected mid-change
        event = diags[1]
        assert isinstance(event, DiagnosticsChanged)
        if not event.errors or event.first_error is None:
            continue
        first = event.first_error
        n = event.errors
        name = event.path or uri
        rng = Range(
            start=Position(line=first.line, character=first.character),
            end=Position(
                line=first.end_line if first.end_line is not None else first.line,
                character=first.end_character if first.end_character is not None else first.character,
            ),
        )
        if n == 1:
            task = f"Fix the error in '{name}'"
            message = f"'{name}' was saved with an error at line {first.line + 1}: {first.message}. Go to it?"
        else:
            task = f"Fix the {n} errors in '{name}'"
            message = (
                f"'{name}' was saved with {n} errors; the first, at line {first.line + 1}: {first.message}. "
                "Go through them?"
            )
        return Suggestion(
            task=task,
            message=message,
            purpose="Errors remain in a file the user has just saved.",
            anchor=Anchor(uri=uri, range=rng),
            operation=OpenLocation(uri=uri, range=rng),
            key=f"diagnostics:{uri}:{n}:{first.message}",
        )
    return None


RULES: list[Rule] = [errors_after_save]
