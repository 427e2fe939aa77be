"""The working loop, end to end: the real server over stdio, a real client, real files and test runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import ProactiveClient, eventually, read_log, start_session


def _open(client: ProactiveClient, path: Path, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=path.read_text())
        )
    )
    return uri


def _type(client: ProactiveClient, uri: str, line: int, character: int, text: str, version: int) -> None:
    pos = types.Position(line=line, character=character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=text)],
        )
    )


def _save(client: ProactiveClient, uri: str) -> None:
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


def _terminal(client: ProactiveClient, command: str, cwd: Path, exit_code: int, output: str) -> None:
    client.protocol.notify(
        protocol.TERMINAL_COMMAND,
        {"commandLine": command, "cwd": str(cwd), "exitCode": exit_code, "output": output, "durationMs": 480},
    )


def _command(action: types.CodeAction | types.Command) -> tuple[str, list]:
    # lsprotocol may structure a CodeAction as a Command (the result is a union of both).
    command = action.command if isinstance(action, types.CodeAction) else action
    assert isinstance(command, types.Command)
    return command.command, list(command.arguments or [])


async def _status(client: ProactiveClient) -> dict:
    return await client.execute(protocol.COMMAND_STATUS)


async def _wait_for_decision(client: ProactiveClient, triggers: int) -> dict:
    """Wait until the engine has decided on `triggers` quiet periods (proposed, silent or blocked)."""

    async def decided() -> dict | None:
        status = await _status(client)
        return status if status["triggers"] >= triggers else None

    return await eventually(decided, timeout=15)


@pytest.fixture
async def failing_run(calc_project: Path) -> tuple[int, str]:
    code, output = run_pytest(calc_project)
    assert code == 1
    return code, output


async def test_failed_test_run_is_proposed_accepted_and_logged(tmp_path: Path, calc_project: Path, failing_run) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        uri = _open(client, calc_project / "calc.py")
        _type(client, uri, 24, 0, "# mean of the values\n", 2)
        _save(client, uri)
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)

        proposal = await client.next_proposal()
        assert proposal["task"] == "Open the failure of `test_precedence` at tests/test_calc.py:9"
        assert "2 failures" in proposal["message"]
        test_uri = (calc_project / "tests" / "test_calc.py").as_uri()
        assert proposal["operation"] == {
            "kind": "open_location",
            "uri": test_uri,
            "range": {"start": {"line": 8, "character": 0}, "end": {"line": 8, "character": 0}},
        }

        # It is offered as a code action where it belongs, and not elsewhere.
        here = types.Range(start=types.Position(line=8, character=0), end=types.Position(line=8, character=10))
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=test_uri),
                range=here,
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        commands = [_command(a) for a in actions or []]
        assert (protocol.COMMAND_ACCEPT, [proposal["id"]]) in commands
        assert (protocol.COMMAND_REJECT, [proposal["id"]]) in commands
        elsewhere = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=here,
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert not elsewhere

        result = await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])
        assert result == {"id": proposal["id"], "outcome": "accepted", "operation": "open_location", "applied": True}
        shown = client.shown_documents[-1]
        assert shown.uri == test_uri
        assert shown.selection is not None and shown.selection.start.line == 8

        records = read_log(log)
        assert [r["outcome"] for r in records] == ["accepted"]
        record = records[0]
        assert record["schema_version"] == 1
        assert record["proposal_id"] == proposal["id"]
        assert record["proposer"] == "local"
        assert record["task"] == proposal["task"]
        events = [o["Event"] for o in record["observations"]]
        assert events[0] == "The user opens 'calc.py' (25 lines)."
        assert any(e.startswith("The user edits function `average` in 'calc.py'") for e in events), events
        assert "The user saves 'calc.py'." in events
        assert events[-1].startswith("The user ran 'python -m pytest' in the terminal; 2 tests failed")
        assert all(set(o) == {"Time", "Event"} for o in record["observations"])
    finally:
        await client.shutdown_session()


async def test_an_accept_the_editor_could_not_carry_out_is_recorded_with_the_reason(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    client.can_show_documents = False
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        proposal = await client.next_proposal()
        result = await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])
        assert result == {"id": proposal["id"], "outcome": "accepted", "operation": "open_location", "applied": False}
        assert client.shown_documents  # it was asked, and said no
        [record] = read_log(log)
        assert record["outcome"] == "accepted" and record["proposal_id"] == proposal["id"]
        assert record["detail"] == "not carried out: the editor did not carry it out"
        assert (await _status(client))["pending"] == 0
    finally:
        await client.shutdown_session()


async def test_without_the_experimental_capability_the_user_is_asked(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log, experimental=False, settings={"announce": "request"})
    client.answer = lambda params: "Accept"
    try:
        code, output = failing_run
        _terminal(client, "pytest", calc_project, code, output)
        shown = await client.wait_until(lambda: client.shown_documents[-1] if client.shown_documents else None)
        request = client.message_requests[0]
        assert [a.title for a in request.actions or []] == [
            "Accept",
            "Reject",
            "Not now",
            "Don't suggest this kind again",
        ]
        assert "test_precedence" in request.message
        assert shown.uri.endswith("tests/test_calc.py")
        assert not client.proposals  # no custom notification for a client that did not ask for it
        records = await eventually(lambda: read_log(log))
        assert records[0]["outcome"] == "accepted"
    finally:
        await client.shutdown_session()


async def test_not_now_and_reject_answers_are_recorded(tmp_path: Path, calc_project: Path, failing_run) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log, experimental=False, settings={"announce": "request"})
    answers = iter(["Not now", "Reject"])
    client.answer = lambda params: next(answers)
    try:
        code, output = failing_run
        _terminal(client, "pytest", calc_project, code, output)
        await eventually(lambda: len(read_log(log)) == 1)
        # The same failure again: "not now" did not reject the task, so it may come back.
        _terminal(client, "pytest", calc_project, code, output)
        records = await eventually(lambda: read_log(log) if len(read_log(log)) == 2 else None)
        assert [r["outcome"] for r in records] == ["snoozed", "rejected"]
        assert records[0]["detail"] == "not now"
        assert not client.shown_documents
    finally:
        await client.shutdown_session()


async def test_a_rejected_task_is_not_proposed_again(tmp_path: Path, calc_project: Path, failing_run) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        first = await client.next_proposal()
        assert await client.execute(protocol.COMMAND_REJECT, first["id"]) == {"id": first["id"], "outcome": "rejected"}

        triggers = (await _status(client))["triggers"]
        _terminal(client, "python -m pytest", calc_project, code, output)
        status = await _wait_for_decision(client, triggers + 1)
        assert status["lastDecision"] == "suppressed: rejected recently"

        # A different failure is still proposed.
        (calc_project / "tests" / "test_calc.py").write_text("def test_other():\n    assert 1 == 2\n")
        code2, output2 = run_pytest(calc_project)
        _terminal(client, "python -m pytest", calc_project, code2, output2)
        second = await client.next_proposal()
        assert "test_other" in second["task"]
        assert [r["outcome"] for r in read_log(log)] == ["rejected"]
        with pytest.raises(Exception, match="no pending proposal"):
            await client.execute(protocol.COMMAND_ACCEPT, first["id"])
    finally:
        await client.shutdown_session()


async def test_snooze_silences_and_records_pending_proposals(tmp_path: Path, calc_project: Path, failing_run) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        proposal = await client.next_proposal()
        status = await client.execute(protocol.COMMAND_SNOOZE, 5)
        assert status["snoozedUntil"] is not None and status["snoozed"] == 1 and status["pending"] == 0
        resolved = await client.wait_until(lambda: client.resolved[-1] if client.resolved else None)
        assert resolved == {"id": proposal["id"], "outcome": "snoozed"}

        (calc_project / "tests" / "test_calc.py").write_text("def test_other():\n    assert 1 == 2\n")
        code2, output2 = run_pytest(calc_project)
        triggers = (await _status(client))["triggers"]
        _terminal(client, "python -m pytest", calc_project, code2, output2)
        status = await _wait_for_decision(client, triggers + 1)
        # A snooze is a pause of that length, shared with every window of the user (the control file).
        assert status["lastDecision"] == "blocked: paused" and status["paused"]
        assert len(client.proposals) == 1
        records = read_log(log)
        assert [(r["outcome"], r["detail"]) for r in records] == [("snoozed", "snoozed for 5 minutes")]
        with pytest.raises(Exception, match="minutes"):
            await client.execute(protocol.COMMAND_SNOOZE, "forever")
    finally:
        await client.shutdown_session()


async def test_an_unanswered_proposal_is_recorded_as_ignored(tmp_path: Path, calc_project: Path, failing_run) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log, settings={"ignoreAfterS": 0.5})
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        proposal = await client.next_proposal()
        resolved = await client.wait_until(lambda: client.resolved[-1] if client.resolved else None)
        assert resolved == {"id": proposal["id"], "outcome": "ignored"}
        records = await eventually(lambda: read_log(log))
        assert records[0]["outcome"] == "ignored"
        assert records[0]["decided_at"] - records[0]["proposed_at"] >= 0.5
    finally:
        await client.shutdown_session()


async def test_ordinary_edits_and_saves_propose_nothing(tmp_path: Path, calc_project: Path) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        uri = _open(client, calc_project / "calc.py")
        for version, text in enumerate(["# a comment\n", "# another\n"], start=2):
            _type(client, uri, 2, 0, text, version)
        _save(client, uri)
        client.protocol.notify(protocol.DIAGNOSTICS, {"uri": uri, "diagnostics": []})
        code, output = run_pytest(calc_project, "-k", "addition")
        assert code == 0
        _terminal(client, "python -m pytest -k addition", calc_project, code, output)
        status = await _wait_for_decision(client, 1)
        # Wait for the last quiet period too: every event must have been considered.
        status = await _wait_for_decision(client, status["triggers"])
        assert status["proposed"] == 0 and status["lastDecision"] == "silent"
        assert status["events"] >= 4
        assert client.proposals == [] and read_log(log) == []
    finally:
        await client.shutdown_session()


async def test_errors_left_after_a_save_are_proposed(tmp_path: Path, calc_project: Path) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        uri = _open(client, calc_project / "calc.py")
        diagnostics = [
            {
                "range": {"start": {"line": 11, "character": 12}, "end": {"line": 11, "character": 17}},
                "message": 'Expression of type "str" is incompatible with "float"',
                "severity": 1,
                "source": "Pyright",
            },
            {
                "range": {"start": {"line": 20, "character": 4}, "end": {"line": 20, "character": 9}},
                "message": '"totl" is not defined',
                "severity": 1,
                "source": "Pyright",
            },
            {
                "range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 3}},
                "message": "unused import",
                "severity": 2,
                "source": "Pyright",
            },
        ]
        client.protocol.notify(protocol.DIAGNOSTICS, {"uri": uri, "diagnostics": diagnostics})
        _save(client, uri)
        proposal = await client.next_proposal()
        assert proposal["task"] == "Fix the 2 errors in 'calc.py'"
        assert proposal["anchor"]["range"]["start"] == {"line": 11, "character": 12}
        await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])
        shown = await client.wait_until(lambda: client.shown_documents[-1] if client.shown_documents else None)
        assert shown.uri == uri and shown.selection.start.line == 11
    finally:
        await client.shutdown_session()


async def test_invalid_settings_are_reported_and_the_server_keeps_serving(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log, settings={"quietPeriodMs": "soon", "maxPerHour": -1})
    try:
        message = await client.wait_until(
            lambda: next((m for m in client.messages if "ignored the setting" in m.message), None)
        )
        assert "quietPeriodMs" in message.message and "maxPerHour" in message.message
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"proactive": {"backend": "gpt"}})
        )
        second = await client.wait_until(lambda: [m for m in client.messages if "ignored the setting" in m.message][1:])
        assert "`backend`" in second[0].message and "the other settings apply" in second[0].message
        client.protocol.notify(protocol.TERMINAL_COMMAND, {"cwd": 3})
        third = await client.wait_until(lambda: [m for m in client.messages if "terminalCommand" in m.message])
        assert "malformed" in third[0].message
        # Still serving: a valid configuration change and a failing run give a proposal.
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"proactive": {"quietPeriodMs": 100, "feedbackLog": str(log)}})
        )
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        assert "test_precedence" in (await client.next_proposal())["task"]
    finally:
        await client.shutdown_session()
