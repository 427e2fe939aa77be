"""Files the server writes are 0600 and the temporary ones are removed when it shuts down: the
markdown a model task shows, recordings, the learning reset mark, the gate model."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from proactive_ls.lsp import protocol
from proactive_ls.private_files import write_private
from tests.conftest import run_pytest
from tests.fault_server import FaultServer
from tests.lsp_client import SERVER_COMMAND, start_session


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_private_is_0600_whatever_the_umask_and_for_an_existing_file(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        fresh = write_private(tmp_path / "fresh.md", "x")
        loose = tmp_path / "loose.md"
        loose.write_text("old")
        loose.chmod(0o666)
        write_private(loose, "new")
    finally:
        os.umask(old)
    assert _mode(fresh) == 0o600 and _mode(loose) == 0o600 and loose.read_text() == "new"


async def test_shown_markdown_is_0600_and_removed_at_shutdown_and_the_recording_is_0600(
    tmp_path: Path, calc_project: Path
) -> None:
    model = FaultServer().start()
    recording = tmp_path / "session.recording.jsonl"
    data = tmp_path / "data"
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    try:
        client = await start_session(
            calc_project,
            tmp_path / "feedback.jsonl",
            settings={"backend": "vllm", "judge": "none", "model": {"url": model.url, "name": model.model}},
            command=[*SERVER_COMMAND, "--record", str(recording)],
            env=env,
        )
        try:
            code, output = run_pytest(calc_project)
            client.protocol.notify(
                protocol.TERMINAL_COMMAND,
                {"commandLine": "python -m pytest", "cwd": str(calc_project), "exitCode": code, "output": output},
            )
            proposal = await client.next_proposal()
            await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])  # the model's markdown is shown
            [shown] = [d for d in client.shown_documents if d.uri.endswith(".md")]
            markdown = Path(shown.uri.removeprefix("file://"))
            assert markdown.exists() and _mode(markdown) == 0o600
            assert "The parser returns None" in markdown.read_text()
            assert _mode(recording) == 0o600
        finally:
            await client.shutdown_session()
        assert not markdown.exists()  # a temporary file: gone with the server that wrote it
    finally:
        model.stop()
