"""The model path at the LSP level: the real server (`proactive-ls serve`) with `backend: "vllm"`,
proposing through the real vLLM server of conftest.py, as docs/protocol.md describes.

The tiny random model always fills its schema, so what it proposes is noise; what is checked is
that a model proposal reaches the client as a notification and a code action, that accepting it
runs the executor through the model and sends the result, that accept and reject are logged with
the model's name, and that with `judge: "vllm"` every decision is the reward model's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types

from proactive_ls.lsp import protocol
from tests.lsp_client import ProactiveClient, eventually, read_log, start_session

from .conftest import MODEL_NAME, VllmServer


def _settings(server: VllmServer, judge: bool = False) -> dict[str, Any]:
    endpoint = {"url": server.url, "name": MODEL_NAME, "timeoutS": 60, "maxTokens": 512, "historyTokenBudget": 1500}
    settings: dict[str, Any] = {"backend": "vllm", "model": endpoint, "judge": "none"}
    if judge:
        settings |= {"judge": "vllm", "judgeModel": endpoint}
    return settings


def _open(client: ProactiveClient, path: Path) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=path.read_text())
        )
    )
    return uri


def _terminal(client: ProactiveClient, cwd: Path, n: int) -> None:
    client.protocol.notify(
        protocol.TERMINAL_COMMAND,
        {
            "commandLine": f"python -m pytest -k case{n}",
            "cwd": str(cwd),
            "exitCode": 1,
            "durationMs": 300,
            "output": f"FAILED tests/test_calc.py::test_case{n} - assert 1 == 2\n1 failed in 0.01s\n",
        },
    )


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "tests" / "test_calc.py").write_text("from calc import add\n\ndef test_add():\n    assert add(1, 1) == 2\n")
    return root


def _commands(actions: list[Any] | None) -> list[tuple[str, list[Any]]]:
    out = []
    for a in actions or []:
        command = a.command if isinstance(a, types.CodeAction) else a
        out.append((command.command, list(command.arguments or [])))
    return out


async def test_model_proposal_reaches_the_client_and_is_carried_out(live_server: VllmServer, tmp_path: Path) -> None:
    root = _project(tmp_path)
    log = tmp_path / "feedback.jsonl"
    client = await start_session(root, log, settings=_settings(live_server))
    try:
        uri = _open(client, root / "calc.py")
        _terminal(client, root, 1)
        proposal = await client.next_proposal(timeout=60)
        assert proposal["proposer"] == "vllm" and proposal["model"] == MODEL_NAME
        assert proposal["operation"] == {"kind": "model_task"}

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=1)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert (protocol.COMMAND_ACCEPT, [proposal["id"]]) in _commands(actions)

        result = await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])
        assert result["outcome"] == "accepted" and result["operation"] == "model_task"
        # The model's answer was shown (markdown) or offered as an edit the user can undo.
        await client.wait_until(lambda: client.shown_documents or client.applied_edits, timeout=60)

        records = await eventually(lambda: read_log(log) or None)
        assert records[0]["outcome"] == "accepted"
        assert records[0]["proposer"] == "vllm" and records[0]["model"] == MODEL_NAME

        # The next model proposal is rejected, and that is logged with the model too.
        _terminal(client, root, 2)
        second = await client.next_proposal(timeout=60)
        assert await client.execute(protocol.COMMAND_REJECT, second["id"]) == {
            "id": second["id"],
            "outcome": "rejected",
        }
        records = await eventually(lambda: read_log(log) if len(read_log(log)) >= 2 else None)
        assert records[1]["outcome"] == "rejected" and records[1]["model"] == MODEL_NAME
    finally:
        await client.shutdown_session()


async def test_reward_model_decides_what_is_shown(live_server: VllmServer, tmp_path: Path) -> None:
    """With judge "vllm" the decision on a model proposal is the reward model's: shown with its
    verdict, or filtered and logged with its reason. (The random judge's choice is not forced.)"""
    root = _project(tmp_path)
    log = tmp_path / "feedback.jsonl"
    client = await start_session(root, log, settings=_settings(live_server, judge=True))
    try:
        _open(client, root / "calc.py")
        _terminal(client, root, 1)

        def decided() -> dict[str, Any] | None:
            if client.proposals:
                return client.proposals[0]
            return next((r for r in read_log(log) if r["outcome"] == "filtered"), None)

        decision = await eventually(decided, timeout=60)
        if "verdict" in decision:  # shown
            verdict = decision["verdict"]
            assert verdict["judge"] == "vllm" and verdict["accept"] is True and verdict["reason"]
        else:  # filtered: not shown, logged with the judge's reason
            assert decision["judge"] == "vllm" and decision["judge_reason"] and decision["model"] == MODEL_NAME
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["judge"] == "vllm" and status["proposed"] + status["filtered"] == 1
    finally:
        await client.shutdown_session()
