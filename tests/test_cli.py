"""The command line as a new user meets it."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from proactive_ls.lsp import protocol
from tests.conftest import EXAMPLES

CLI = [sys.executable, "-m", "proactive_ls"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


def test_version() -> None:
    from proactive_ls import __version__

    assert run("--version").stdout.strip() == f"proactive-ls {__version__}"


def test_replay_prints_the_proposal_and_the_silence() -> None:
    proc = run(
        "replay", str(EXAMPLES / "failing-test" / "session.jsonl"), str(EXAMPLES / "quiet-editing" / "session.jsonl")
    )
    assert proc.returncode == 0, proc.stderr
    assert "Open the failure of `test_precedence` at tests/test_calc.py:9" in proc.stdout
    assert "(no proposal: proactive-ls stays silent)" in proc.stdout


def test_replay_json_is_machine_readable() -> None:
    proc = run("replay", "--json", str(EXAMPLES / "failing-test" / "session.jsonl"))
    [result] = json.loads(proc.stdout)
    assert result["proposals"] == 1 and result["tasks"] == [
        "Open the failure of `test_precedence` at tests/test_calc.py:9"
    ]
    assert result["steps"][0]["proposal"]["operation"]["kind"] == "open_location"


def test_a_broken_session_file_gets_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"time": 1, "action": "open", "path": "a.py"}\n{"time": 2, "action": "teleport"}\n')
    proc = run("replay", str(bad))
    assert proc.returncode == 2
    assert "bad.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _connect(client: LanguageClient, server: subprocess.Popen[bytes], port: int, deadline_s: float) -> None:
    """Connect once the server listens: fails with the reason if it exits or the deadline passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while True:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode} before listening")
        try:
            await asyncio.wait_for(client.start_tcp("127.0.0.1", port), 5)
            return
        except (TimeoutError, OSError) as error:
            if loop.time() > deadline:
                raise AssertionError(f"no connection to 127.0.0.1:{port} within {deadline_s:.0f} s") from error
            await asyncio.sleep(0.1)  # polls the port (a state), bounded by the deadline


async def test_serve_over_tcp(tmp_path: Path) -> None:
    port = _free_port()
    token_file = tmp_path / "token"
    server = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--tcp",
            f"127.0.0.1:{port}",
            "--feedback-log",
            str(tmp_path / "log.jsonl"),
            "--token-file",
            str(token_file),
        ]
    )
    client = LanguageClient("test", "1")
    connected = False
    try:
        await _connect(client, server, port, deadline_s=120)
        connected = True
        result = await asyncio.wait_for(
            client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(),
                    root_uri=tmp_path.as_uri(),
                    initialization_options={"token": token_file.read_text().strip()},
                )
            ),
            60,
        )
        assert result.server_info.name == "proactive-ls"
        client.initialized(types.InitializedParams())
        status = await asyncio.wait_for(
            client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=protocol.COMMAND_STATUS, arguments=[])
            ),
            60,
        )
        assert status["feedbackLog"] == str(tmp_path / "log.jsonl")  # --feedback-log wins
        await asyncio.wait_for(client.shutdown_async(None), 60)
    finally:
        if connected:
            client.exit(None)
        try:
            await asyncio.wait_for(client.stop(), 10)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
