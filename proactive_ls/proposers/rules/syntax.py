"""A syntax error that outlived the typing: offer to go to it.

tree-sitter sees a half-typed line as an error too, so an error only counts when the file was
saved with it, or when it persisted: the document tracker reports a non-save error only once
it has seen the same error at two quiet points in a row. Columns in the events are in the LSP
position encoding, so the location opens where the error is.
"""

from __future__ import annotations

from collections.abc import Sequence

from proactive_ls.events import DocumentClosed, DocumentEdited, EventBase, SyntaxErrorFound
from proactive_ls.proposals import Anchor, OpenLocation, Range, Suggestion
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules import Rule


def _touched_after(history: Sequence[EventBase], event: SyntaxErrorFound) -> bool:
    """Whether the document was edited or closed after the error was reported."""
    seen = False
    for e in history:
        if e is event:
            seen = True
        elif seen and e.uri == event.uri and isinstance(e, (DocumentEdited, DocumentClosed)):
            return True
    return False


def syntax_error(ctx: ProposalContext) -> Suggestion | None:
    done: set[str] = set()
    for event in reversed(ctx.new_events):
        if not isinstance(event, SyntaxErrorFound) or event.uri is None or event.uri in done:
            continue
        done.add(event.uri)  # only the newest report of each document counts
        if _touched_after(ctx.history, event):
            continue
        name = event.path or event.uri
        line = event.line + 1
        what = f"a missing '{event.missing}'" if event.missing else "code it cannot parse"
        when = (
            "The file was saved with it" if event.on_save else "It has stayed through two pauses in typing"
        )  # see documents.py
        more = f" ({event.count} syntax errors in all)" if event.count > 1 else ""
        rng = Range.line(event.line, event.column)
        return Suggestion(
            task=f"Fix the syntax error in '{name}' at line {line}",
            message=(
                f"There is {what} in '{name}' at line {line}, column {event.column + 1}{more}. "
                f"{when}, so it is probably not a half-typed line. Go to it?"
            ),
            purpose="A syntax error stops the file from running, and breaks tools that read it.",
            anchor=Anchor(uri=event.uri, range=rng),
            operation=OpenLocation(uri=event.uri, range=rng),
            key=f"syntax:{event.uri}:{line}",
        )
    return None


RULES: list[Rule] = [syntax_error]
