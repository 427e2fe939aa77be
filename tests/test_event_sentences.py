"""Each event reads as one sentence in the ProactiveBench observation style."""

from __future__ import annotations

import json

from proactive_ls.events import (
    DiagnosticInfo,
    DiagnosticsChanged,
    DocumentEdited,
    DocumentOpened,
    DocumentSaved,
    Failure,
    GitCommitted,
    GitOperation,
    Observation,
    SourceLocation,
    SyntaxErrorFound,
    TerminalCommand,
    parse_event,
    render_history,
)


def test_sentences() -> None:
    assert DocumentEdited(
        time=0, path="cli.py", lines_changed=12, definitions=["function `parse_args`"]
    ).sentence() == ("The user edits function `parse_args` in 'cli.py' (12 lines changed).")
    assert DocumentEdited(time=0, path="a.py", lines_changed=1, first_line=4, added=["function `g`"]).sentence() == (
        "The user edits 'a.py' around line 5 and adds function `g` (1 line changed)."
    )
    assert (
        DocumentOpened(time=0, path="src/app.ts", line_count=40).sentence() == "The user opens 'src/app.ts' (40 lines)."
    )
    assert DocumentSaved(time=0, path="a.py", errors=3).sentence() == "The user saves 'a.py', which still has 3 errors."
    failure = Failure(
        tool="pytest",
        title="test_io",
        summary="2 tests failed in 'tests/test_io.py'",
        failed=2,
        location=SourceLocation(path="tests/test_io.py", line=42),
    )
    assert TerminalCommand(time=0, command_line="pytest -x", exit_code=1, failure=failure).sentence() == (
        "The user ran 'pytest -x' in the terminal; 2 tests failed in 'tests/test_io.py'."
    )
    assert (
        TerminalCommand(time=0, command_line="make", exit_code=2).sentence()
        == "The user ran 'make' in the terminal; it failed with exit code 2."
    )
    assert (
        TerminalCommand(time=0, command_line="ls", exit_code=0).sentence()
        == "The user ran 'ls' in the terminal; it succeeded."
    )
    diag = DiagnosticsChanged(
        time=0, path="p.py", errors=3, new_errors=1, first_error=DiagnosticInfo(line=13, message="undefined name 'x'")
    )
    assert (
        diag.sentence() == "In 'p.py', 1 new error appear; 3 errors remain, the first at line 14: undefined name 'x'."
    )
    assert (
        SyntaxErrorFound(time=0, path="app.ts", line=13, on_save=True).sentence()
        == "The user saved 'app.ts' with a syntax error at line 14."
    )
    assert (
        GitCommitted(time=0, sha="abc", summary="Fix parser", branch="main").sentence()
        == "The user commits 'Fix parser' on 'main'."
    )
    assert GitOperation(time=0, operation="merge", conflicted=["a.py", "b.py"]).sentence() == (
        "A merge is in progress with 2 conflicted files: 'a.py', 'b.py'."
    )


def test_history_renders_to_the_observation_format_and_events_round_trip() -> None:
    events = [
        Observation(time=1_700_000_000, text="The user opens VS Code."),
        DocumentSaved(time=1_700_000_005, path="a.py"),
    ]
    rendered = render_history(events)
    assert [set(step) for step in rendered] == [{"Time", "Event"}, {"Time", "Event"}]
    assert rendered[1]["Event"] == "The user saves 'a.py'."
    for event in events:
        assert parse_event(json.loads(event.model_dump_json())) == event
