"""What every client relies on, over the real server: code actions on the whole line and of a kind
no Auto Fix picks, a non-blocking message for stock clients, every outcome announced, late answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import ProactiveClient, eventually, read_log, start_session
from tests.test_lsp_proposals import _command, _terminal


@pytest.fixture
def failing_run(calc_project: Path) -> tuple[int, str]:
    code, output = run_pytest(calc_project)
    assert code == 1
    return code, output


async def _actions(
    client: ProactiveClient, uri: str, line: int, character: int, only: list[str] | None = None
) -> list[types.CodeAction]:
    here = types.Range(
        start=types.Position(line=line, character=character), end=types.Position(line=line, character=character)
    )
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=here,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
    )
    return [a for a in actions or [] if isinstance(a, types.CodeAction)]


async def test_code_actions_cover_the_line_and_are_not_preferred_quick_fixes(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    client = await start_session(calc_project, tmp_path / "feedback.jsonl")
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        proposal = await client.next_proposal()
        uri = proposal["anchor"]["uri"]
        line = proposal["anchor"]["range"]["start"]["line"]
        assert proposal["kind"] == "failing_command"

        # The cursor anywhere on the anchor's line, not only at its column.
        actions = await _actions(client, uri, line, 17)
        assert [a.title.split(":")[0] for a in actions] == ["Proactive"] * 3
        assert {a.kind for a in actions} == {"source.proactive"}
        assert not any(a.is_preferred for a in actions)
        commands = [_command(a) for a in actions]
        assert commands == [
            (protocol.COMMAND_ACCEPT, [proposal["id"]]),
            (protocol.COMMAND_REJECT, [proposal["id"]]),
            (protocol.COMMAND_MUTE, [{"kind": "failing_command", "proposalId": proposal["id"]}]),
        ]
        assert "don't suggest this kind again" in actions[2].title
        # Not on another line; not for a client asking only for quick fixes (Auto Fix), yes for `source`.
        assert not await _actions(client, uri, line + 1, 0)
        assert not await _actions(client, uri, line, 0, only=["quickfix"])
        assert len(await _actions(client, uri, line, 0, only=["source"])) == 3
    finally:
        await client.shutdown_session()


async def test_a_stock_client_gets_a_message_it_need_not_answer_and_the_code_action(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log, experimental=False)
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        message = await client.wait_until(
            lambda: next((m for m in client.messages if m.message.startswith("proactive-ls: ")), None)
        )
        assert message.type == types.MessageType.Info
        assert "test_precedence" in message.message and "Proactive: Open the failure" in message.message
        assert not client.message_requests  # nothing modal
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["pending"] == 1
        test_uri = (calc_project / "tests" / "test_calc.py").as_uri()
        [accept, *_] = await _actions(client, test_uri, 8, 30)
        name, arguments = _command(accept)
        result = await client.execute(name, *arguments)
        assert result["outcome"] == "accepted" and result["applied"]
        assert client.shown_documents[-1].uri == test_uri
        assert [r["outcome"] for r in read_log(log)] == ["accepted"]
    finally:
        await client.shutdown_session()


async def test_every_outcome_is_announced_whatever_decided_it(tmp_path: Path, calc_project: Path, failing_run) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        first = await client.next_proposal()
        await client.execute(protocol.COMMAND_ACCEPT, first["id"])
        await client.wait_until(lambda: {"id": first["id"], "outcome": "accepted"} in client.resolved)

        (calc_project / "tests" / "test_calc.py").write_text("def test_other():\n    assert 1 == 2\n")
        code2, output2 = run_pytest(calc_project)
        _terminal(client, "python -m pytest", calc_project, code2, output2)
        second = await client.next_proposal()
        # "Don't suggest this kind again" on the proposal: a mute, and the proposal rejected.
        answer = await client.execute(protocol.COMMAND_MUTE, {"kind": second["kind"], "proposalId": second["id"]})
        assert answer["answered"] == {"id": second["id"], "outcome": "rejected"}
        assert answer["mutes"][0]["kind"] == "failing_command"
        await client.wait_until(lambda: {"id": second["id"], "outcome": "rejected"} in client.resolved)
        records = read_log(log)
        assert [(r["outcome"], r["kind"]) for r in records] == [
            ("accepted", "failing_command"),
            ("rejected", "failing_command"),
        ]
        assert records[1]["detail"] == "muted: failing_command"
    finally:
        await client.shutdown_session()


async def test_an_answer_after_the_ignore_timeout_is_recorded_late_and_carried_out(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log, settings={"ignoreAfterS": 0.3})
    try:
        code, output = failing_run
        _terminal(client, "python -m pytest", calc_project, code, output)
        proposal = await client.next_proposal()
        await client.wait_until(lambda: {"id": proposal["id"], "outcome": "ignored"} in client.resolved)
        await eventually(lambda: read_log(log))

        result = await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])  # "Accept" clicked late
        assert result["outcome"] == "accepted" and result["applied"] and result["lateByS"] >= 0
        assert client.shown_documents[-1].uri.endswith("tests/test_calc.py")
        late = await client.wait_until(lambda: next((r for r in client.resolved if r["outcome"] == "accepted"), None))
        assert late["id"] == proposal["id"] and late["lateByS"] == result["lateByS"]
        ignored, accepted = read_log(log)
        assert (ignored["outcome"], ignored["late_by_s"]) == ("ignored", None)
        assert accepted["outcome"] == "accepted" and accepted["proposal_id"] == proposal["id"]
        assert accepted["late_by_s"] == pytest.approx(result["lateByS"])
        assert accepted["decided_at"] - ignored["decided_at"] == pytest.approx(accepted["late_by_s"], abs=1e-3)
        status = await client.execute(protocol.COMMAND_STATUS)
        assert (status["ignored"], status["accepted"], status["late"]) == (1, 1, 1)
        # A second answer to the same proposal is a clear error, not a second record.
        with pytest.raises(Exception, match="no pending proposal"):
            await client.execute(protocol.COMMAND_REJECT, proposal["id"])
        assert len(read_log(log)) == 2
    finally:
        await client.shutdown_session()
