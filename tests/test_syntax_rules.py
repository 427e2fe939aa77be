"""The embedded proposer on syntax errors: on save, or when the same error is reported twice."""

from __future__ import annotations

from proactive_ls.events import DocumentEdited, DocumentSaved, EventBase, SyntaxErrorFound
from proactive_ls.proposals import OpenLocation
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.local import LocalProposer
from proactive_ls.proposers.rules.syntax import RULES, syntax_error
from proactive_ls.sensing.mirror import DocumentMirror
from proactive_ls.sensing.syntax import SyntaxDocument

URI = "file:///work/app/src/app.ts"
SOURCE = (
    "const label = 'café 😀';\nexport function total(items: number[]) {\n  return items.reduce((a, b) => a + b, 0;\n}\n"
)


def error_event(time: float, on_save: bool, source: str = SOURCE) -> SyntaxErrorFound:
    """The event the document tracker makes from a real parse of `source`."""
    issues = SyntaxDocument("typescript", DocumentMirror(source)).syntax_errors()
    first = issues[0]
    return SyntaxErrorFound(
        time=time,
        uri=URI,
        path="src/app.ts",
        line=first.line,
        column=first.column,
        count=len(issues),
        on_save=on_save,
        missing=first.missing,
    )


def ctx(history: list[EventBase], new: int) -> ProposalContext:
    return ProposalContext(history=history, new_events=history[-new:], now=history[-1].time + 1)


def test_a_file_saved_with_a_syntax_error_gets_a_proposal() -> None:
    history: list[EventBase] = [
        DocumentEdited(time=1, uri=URI, path="src/app.ts", lines_changed=1, first_line=2, last_line=2),
        DocumentSaved(time=2, uri=URI, path="src/app.ts"),
        error_event(2, on_save=True),
    ]
    suggestion = syntax_error(ctx(history, 2))
    assert suggestion is not None
    assert suggestion.task == "Fix the syntax error in 'src/app.ts' at line 3"
    assert "missing ')'" in suggestion.message and "saved" in suggestion.message
    assert suggestion.key == f"syntax:{URI}:3"
    assert isinstance(suggestion.operation, OpenLocation)
    assert suggestion.operation.uri == URI
    # the MISSING ')' sits before ';' on "  return items.reduce((a, b) => a + b, 0;"
    position = suggestion.operation.range.start
    assert (position.line, position.character) == (2, SOURCE.splitlines()[2].index(";"))
    assert suggestion.anchor is not None and suggestion.anchor.range == suggestion.operation.range


def test_columns_are_utf16_units() -> None:
    source = "const s = '😀é';  let x = (1 + ;\n"
    event = error_event(1, on_save=True, source=source)
    line = source.splitlines()[0]
    index = line.index("= (")
    assert event.column == index + 1  # the emoji before the error counts as two UTF-16 units
    suggestion = syntax_error(ctx([event], 1))
    assert suggestion is not None and suggestion.operation.range.start.character == index + 1  # type: ignore[union-attr]


def test_the_same_error_twice_in_a_row_gets_a_proposal() -> None:
    first = error_event(1, on_save=False)
    history: list[EventBase] = [
        first,
        DocumentSaved(time=1.5, uri="file:///other.py", path="other.py"),
        error_event(3, on_save=False),
    ]
    suggestion = syntax_error(ctx(history, 1))
    assert suggestion is not None
    assert "two pauses" in suggestion.message


def test_no_proposal_once_the_user_edits_the_file_again() -> None:
    history: list[EventBase] = [
        error_event(1, on_save=True),
        DocumentEdited(time=2, uri=URI, path="src/app.ts", lines_changed=1, first_line=2, last_line=2),
    ]
    assert syntax_error(ctx(history, 2)) is None


def test_silent_without_syntax_events() -> None:
    history: list[EventBase] = [DocumentSaved(time=1, uri=URI, path="src/app.ts")]
    assert syntax_error(ctx(history, 1)) is None


async def test_the_local_proposer_uses_the_rule() -> None:
    proposer = LocalProposer(rules=RULES)
    suggestion = await proposer.propose(ctx([error_event(1, on_save=True)], 1))
    assert suggestion is not None and suggestion.key == f"syntax:{URI}:3"


def test_the_tracker_reports_an_error_only_once_it_persisted_over_two_quiet_points() -> None:
    """A half-typed line is not reported; the same error still there at the next pause is, once."""
    from pathlib import Path

    from proactive_ls.config import Settings
    from proactive_ls.sensing.diagnostics import DiagnosticsState
    from proactive_ls.sensing.documents import Change, DocumentTracker

    tracker = DocumentTracker(Settings(), [Path("/work/app")], DiagnosticsState())
    uri = "file:///work/app/m.py"
    tracker.open(uri, "python", 1, "def f(a):\n    return a\n\n\nx = 1\n", 0.0)

    def burst(t: float, line: int, text: str) -> list:
        tracker.change(uri, int(t), [Change(text, (line, 0), (line, 0))], t)
        return [e for e in tracker.flush_all(t + 1) if e.kind == "syntax.error"]

    assert burst(1, 4, "def g(:\n") == []  # first pause with the error: could be mid-typing
    [event] = burst(3, 0, "# note\n")  # second pause, same error: reported
    assert (event.line, event.on_save) == (5, False)
    assert syntax_error(ctx([event], 1)) is not None
    assert burst(5, 0, "# more\n") == []  # not reported again while it stays
