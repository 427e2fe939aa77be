"""A client cannot point the feedback log outside the data folder or the workspace: only the user's
own machine can (``serve --feedback-log``, ``PROACTIVE_LS_FEEDBACK_LOG``). Over the real server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lsprotocol import types

from proactive_ls.config import FEEDBACK_LOG_ENV
from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import FAST_SETTINGS, SERVER_COMMAND, ProactiveClient, capabilities, make_client, read_log


async def _start(
    root: Path, data: Path, options: dict[str, Any], command: list[str] | None = None, env: dict[str, str] | None = None
) -> ProactiveClient:
    """The server with the data folder `data` and no local log setting unless `env` or `command` gives one."""
    base = {k: v for k, v in os.environ.items() if k != FEEDBACK_LOG_ENV}
    client = make_client()
    await client.start_io(*(command or SERVER_COMMAND), env={**base, "XDG_DATA_HOME": str(data), **(env or {})})
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options={**FAST_SETTINGS, **options},
        )
    )
    return client


async def _reject_one(client: ProactiveClient, project: Path) -> str:
    """A real failing test run, its proposal rejected: one record in whichever log is in use."""
    code, output = run_pytest(project)
    assert code == 1
    client.protocol.notify(
        protocol.TERMINAL_COMMAND,
        {"commandLine": "python -m pytest", "cwd": str(project), "exitCode": code, "output": output},
    )
    proposal = await client.next_proposal()
    await client.execute(protocol.COMMAND_REJECT, proposal["id"])
    return str(proposal["id"])


async def _status(client: ProactiveClient) -> dict[str, Any]:
    result: dict[str, Any] = await client.execute(protocol.COMMAND_STATUS)
    return result


async def test_a_wire_log_outside_is_refused_the_file_untouched_and_the_default_used(
    tmp_path: Path, calc_project: Path
) -> None:
    data = tmp_path / "data"
    outside = tmp_path / "elsewhere" / "feedback.jsonl"  # a valid name, only the place is wrong
    outside.parent.mkdir()
    bashrc = tmp_path / "home" / ".bashrc"
    bashrc.parent.mkdir()
    bashrc.write_text("export PATH=$PATH:~/bin\n")
    before = bashrc.stat()
    link = calc_project / "log.jsonl"  # in the workspace, but it leads out of it
    link.symlink_to(bashrc)
    default = data / "proactive-ls" / "feedback.jsonl"
    client = await _start(calc_project, data, {"feedbackLog": str(outside)})
    try:
        refused = await client.wait_until(
            lambda: [m for m in client.messages if "outside the data folder" in m.message]
        )
        assert str(outside) in refused[0].message and FEEDBACK_LOG_ENV in refused[0].message
        assert (await _status(client))["feedbackLog"] == str(default)
        for target in (bashrc, link):
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings={"proactive": {"feedbackLog": str(target)}})
            )
        await client.wait_until(
            lambda: len([m for m in client.messages if "outside the data folder" in m.message]) >= 3
        )
        proposal_id = await _reject_one(client, calc_project)
        assert (await _status(client))["feedbackLog"] == str(default)
    finally:
        await client.shutdown_session()
    assert [r["proposal_id"] for r in read_log(default)] == [proposal_id]
    assert not outside.exists()
    after = bashrc.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert bashrc.read_text() == "export PATH=$PATH:~/bin\n"


async def test_a_wire_log_inside_the_workspace_or_the_data_folder_is_used(tmp_path: Path, calc_project: Path) -> None:
    data = tmp_path / "data"
    inside = calc_project / ".proactive" / "feedback.jsonl"
    in_data = data / "proactive-ls" / "mine.jsonl"
    client = await _start(calc_project, data, {"feedbackLog": str(inside)})
    try:
        assert (await _status(client))["feedbackLog"] == str(inside)
        first = await _reject_one(client, calc_project)
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"proactive": {"feedbackLog": str(in_data)}})
        )
        # A request after the notification is answered with the change in use.
        assert (await _status(client))["feedbackLog"] == str(in_data)
        assert not [m for m in client.messages if "feedbackLog" in m.message]
    finally:
        await client.shutdown_session()
    assert [r["proposal_id"] for r in read_log(inside)] == [first]


async def test_a_log_elsewhere_set_on_the_machine_is_used(tmp_path: Path, calc_project: Path) -> None:
    data = tmp_path / "data"
    by_cli = tmp_path / "cli" / "feedback.jsonl"
    by_env = tmp_path / "env" / "feedback.jsonl"
    wire = tmp_path / "wire" / "feedback.jsonl"
    # The command line wins over the environment, and either over the client's (ignored, not refused).
    command = [*SERVER_COMMAND, "--feedback-log", str(by_cli)]
    client = await _start(calc_project, data, {"feedbackLog": str(wire)}, command, {FEEDBACK_LOG_ENV: str(by_env)})
    try:
        assert (await _status(client))["feedbackLog"] == str(by_cli)
        first = await _reject_one(client, calc_project)
    finally:
        await client.shutdown_session()
    assert [r["proposal_id"] for r in read_log(by_cli)] == [first]
    client = await _start(calc_project, data, {"feedbackLog": str(wire)}, env={FEEDBACK_LOG_ENV: str(by_env)})
    try:
        assert (await _status(client))["feedbackLog"] == str(by_env)
        second = await _reject_one(client, calc_project)
        assert not [m for m in client.messages if "feedbackLog" in m.message]
    finally:
        await client.shutdown_session()
    assert [r["proposal_id"] for r in read_log(by_env)] == [second]
    assert not wire.exists()
