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


async def test_serve_over_tcp(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--tcp", f"127.0.0.1:{port}", "--feedback-log", str(tmp_path / "log.jsonl")]
    )
    client = LanguageClient("test", "1")
    try:
        for _ in range(100):
            try:
                await client.start_tcp("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        result = await client.initialize_async(
            types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=tmp_path.as_uri())
        )
        assert result.server_info.name == "proactive-ls"
        client.initialized(types.InitializedParams())
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=protocol.COMMAND_STATUS, arguments=[])
        )
        assert status["feedbackLog"] == str(tmp_path / "log.jsonl")  # --feedback-log wins
        await client.shutdown_async(None)
    finally:
        client.exit(None)
        await asyncio.wait_for(client.stop(), 10)
        server.terminate()
        server.wait(timeout=10)
