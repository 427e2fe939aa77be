"""Settings that degrade gracefully and the LSP conventions, over the real server: a bad key is
reported once and dropped alone, an invalid exclude glob is skipped, settings are pulled with
workspace/configuration, $/progress runs while a model works, window/logMessage says what happened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from proactive_ls.config import parse_settings_lenient, unwrap_pulled
from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.fault_server import FaultServer
from tests.lsp_client import ProactiveClient, eventually, start_session
from tests.test_lsp_proposals import _terminal

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def failing_run(calc_project: Path) -> tuple[int, str]:
    code, output = run_pytest(calc_project)
    assert code == 1
    return code, output


def _ignored(client: ProactiveClient) -> list[str]:
    return [m.message for m in client.messages if "ignored the setting" in m.message]


def test_one_bad_key_is_dropped_alone() -> None:
    settings, problems = parse_settings_lenient(
        {"announce": "loud", "quietPeriodMs": "soon", "maxPerHour": 3, "model": {"url": "ftp://x"}, "nope": 1}
    )
    assert settings.max_per_hour == 3 and settings.announce == "message" and settings.model is None
    assert sorted(k for k, _ in problems) == ["announce", "model", "nope", "quietPeriodMs"]
    assert dict(problems)["nope"] == "unknown setting"
    assert "name" in dict(problems)["model"] or "url" in dict(problems)["model"]


def test_a_vscode_style_answer_is_unwrapped() -> None:
    assert unwrap_pulled({"settings": {"maxPerHour": 2}, "serverCommand": "proactive-ls"}) == {"maxPerHour": 2}
    assert unwrap_pulled({"maxPerHour": 2}) == {"maxPerHour": 2}
    assert unwrap_pulled(None) is None


async def test_an_unknown_key_is_reported_once_and_the_rest_applies(tmp_path: Path, calc_project: Path) -> None:
    client = await start_session(
        calc_project, tmp_path / "feedback.jsonl", settings={"annonce": "message", "enabled": False, "mode": "manual"}
    )
    try:
        [first] = await client.wait_until(lambda: _ignored(client))
        assert "`annonce`" in first and "unknown setting" in first
        status = await client.execute(protocol.COMMAND_STATUS)
        assert (status["enabled"], status["mode"]) == (False, "manual")  # the other settings still apply
        # The same bad key again, with a new bad one: only the new one is reported.
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"proactive": {"annonce": "x", "eagerness": "max"}})
        )
        messages = await client.wait_until(lambda: _ignored(client)[1:])
        assert "`eagerness`" in messages[0] and "annonce" not in messages[0]
        assert sum("annonce" in m for m in _ignored(client)) == 1
        assert (await client.execute(protocol.COMMAND_STATUS))["mode"] == "manual"
    finally:
        await client.shutdown_session()


async def test_an_invalid_exclude_glob_is_skipped_and_the_others_kept(tmp_path: Path, calc_project: Path) -> None:
    client = await start_session(
        calc_project, tmp_path / "feedback.jsonl", settings={"excludeExtra": ["[z-a]", "calc.py"]}
    )
    try:
        message = await client.wait_until(
            lambda: next((m for m in client.messages if "exclude glob" in m.message), None)
        )
        assert "'[z-a]'" in message.message
        uri = (calc_project / "calc.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text="SECRET = 1\n")
            )
        )
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["documents"] == 1  # initialized and serving
    finally:
        await client.shutdown_session()


async def test_settings_are_pulled_per_folder_when_the_client_can(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    client = await start_session(
        calc_project,
        tmp_path / "feedback.jsonl",
        configuration={"proactive": {"settings": {"mode": "manual", "typo": 1}, "serverCommand": "proactive-ls"}},
    )
    try:
        status = await client.wait_until(lambda: _ignored(client))
        assert "`typo`" in status[0]
        assert (await client.execute(protocol.COMMAND_STATUS))["mode"] == "manual"
        # The pull model: didChangeConfiguration without settings means "ask again".
        client.set_configuration({"proactive": {"mode": "auto"}})
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))

        async def auto() -> bool:
            return (await client.execute(protocol.COMMAND_STATUS))["mode"] == "auto"

        await eventually(auto)
    finally:
        await client.shutdown_session()


async def test_progress_while_the_model_works_and_log_messages(tmp_path: Path, calc_project: Path, failing_run) -> None:
    model = FaultServer().start()
    try:
        client = await start_session(
            calc_project,
            tmp_path / "feedback.jsonl",
            settings={"backend": "vllm", "judge": "none", "model": {"url": model.url, "name": model.model}},
            work_done_progress=True,
        )
        try:
            _terminal(client, "python -m pytest", calc_project, *failing_run)
            proposal = await client.next_proposal()
            assert proposal["operation"]["kind"] == "model_task"
            await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])  # the model carries it out
            reports = list(client.progress_reports.values())
            kinds = [[r.kind for r in token] for token in reports]
            assert kinds[:2] == [["begin", "end"], ["begin", "end"]]
            titles = [token[0].title for token in reports]
            assert titles[0].startswith("proactive-ls: asking") and "carrying out" in titles[1]
            logged = [m.message for m in client.log_messages]
            assert any(m.startswith(f"proposed {proposal['id']} (model_task)") for m in logged)
            assert any(m.startswith(f"accepted {proposal['id']}") for m in logged)
        finally:
            await client.shutdown_session()
    finally:
        model.stop()


def test_the_settings_schema_is_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make-settings-schema.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    schema = json.loads((REPO / "docs" / "settings.schema.json").read_text())
    for key in ("enabled", "mode", "announce", "excludeExtra", "retainDays", "maxPerHour"):
        assert key in schema["properties"]
    assert schema["additionalProperties"] is False
