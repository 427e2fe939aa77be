"""The protocol's table goes both ways: an input sent as its LSP message reads back as the same input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive_ls.inputs import (
    INPUT_TYPES,
    ChangeInput,
    CloseInput,
    DiagnosticsInput,
    EventInput,
    Input,
    OpenInput,
    SaveInput,
    TerminalInput,
)
from proactive_ls.lsp import protocol

URI = "file:///work/project/src/app.py"
text = st.text(max_size=40)
position = st.fixed_dictionaries({"line": st.integers(0, 10_000), "character": st.integers(0, 500)})
span = st.fixed_dictionaries({"start": position, "end": position})
change = st.one_of(
    st.fixed_dictionaries({"text": text}),
    st.fixed_dictionaries({"range": span, "text": text}),
)
diagnostic = st.fixed_dictionaries(
    {
        "range": span,
        "message": text,
        "severity": st.sampled_from([1, 2, 3, 4]),
        "source": st.sampled_from(["ruff", "mypy"]),
    }
)


def _model(cls: type[Any], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Instances of a pydantic model from strategies for its fields (by their Python names)."""
    return st.fixed_dictionaries(fields).map(cls.model_validate)


inputs: st.SearchStrategy[Input] = st.one_of(
    _model(
        OpenInput,
        uri=st.just(URI),
        language_id=st.sampled_from(["python", "typescript", ""]),
        version=st.integers(0, 1000),
        text=text,
    ),
    _model(
        ChangeInput, uri=st.just(URI), version=st.integers(0, 1000), changes=st.lists(change, min_size=1, max_size=4)
    ),
    _model(SaveInput, uri=st.just(URI), text=st.none() | text),
    _model(CloseInput, uri=st.just(URI)),
    _model(
        TerminalInput,
        command_line=text,
        cwd=st.none() | st.just("/work/project"),
        exit_code=st.none() | st.integers(-255, 255),
        output=text,
        duration_ms=st.none() | st.integers(0, 10**7),
    ),
    _model(DiagnosticsInput, uri=st.just(URI), diagnostics=st.lists(diagnostic, max_size=3)),
    _model(EventInput, event=st.fixed_dictionaries({"kind": st.just("observation"), "text": text})),
)


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_an_input_survives_the_round_trip_through_its_message(item: Input) -> None:
    method, params = protocol.message_of(item)
    assert protocol.input_of(method, params) == item
    # and through JSON, as it crosses the wire or sits in a recording
    route = protocol.route_of(item)
    assert protocol.input_of(method, json.loads(json.dumps(route.params_json(item)))) == item


def test_every_input_has_one_route_and_every_route_one_input() -> None:
    assert {route.input_type for route in protocol.ROUTES} == set(INPUT_TYPES)
    assert len({route.method for route in protocol.ROUTES}) == len(protocol.ROUTES)


@pytest.mark.parametrize(
    ("method", "params", "problem"),
    [
        (protocol.TERMINAL_COMMAND, {"cwd": 3}, "Field required"),
        (protocol.DIAGNOSTICS, {"uri": URI, "diagnostics": "none"}, "list"),
        (protocol.EVENT, ["not", "an", "object"], "dictionary"),
        ("textDocument/didOpen", {"textDocument": {"uri": URI}}, "DidOpenTextDocumentParams"),
    ],
)
def test_params_that_do_not_fit_are_a_malformed_message(method: str, params: Any, problem: str) -> None:
    with pytest.raises(protocol.MalformedMessage, match=problem) as caught:
        protocol.input_of(method, params)
    assert caught.value.method == method


def test_a_message_that_carries_no_input_is_none() -> None:
    assert protocol.input_of("textDocument/hover", {}) is None


def test_a_replayed_input_resolves_against_its_workspace(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    opened = OpenInput(path="a.py", time=5.0).resolved(tmp_path)
    assert (opened.uri, opened.text, opened.path, opened.time) == ((tmp_path / "a.py").as_uri(), "x = 1\n", None, 5.0)
    terminal = TerminalInput(command_line="make", cwd="sub", time=6.0).resolved(tmp_path)
    assert terminal.cwd == str((tmp_path / "sub").resolve())
    assert TerminalInput(command_line="make").resolved(tmp_path).cwd == str(tmp_path)
    # The event takes the input's time: the session stamps it.
    event = EventInput(event={"kind": "observation", "text": "hi", "time": 1.0}, time=7.0).resolved(tmp_path)
    assert event.event == {"kind": "observation", "text": "hi"}
    with pytest.raises(ValueError, match="'path' or 'uri'"):
        CloseInput().resolved(tmp_path)
