"""A full disk loses no answer: the outcome is kept in memory and retried, the user is told once in
plain words, the answer is acknowledged, and no traceback reaches the client (``feedback/log.py``).

The log is a symlink to ``/dev/full`` (every write fails with ENOSPC, as on a full disk); "freeing
space" replaces it with a real file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import read_log, start_session


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
async def test_a_full_disk_keeps_answers_tells_the_user_once_and_writes_them_later(
    tmp_path: Path, calc_project: Path
) -> None:
    log = tmp_path / "log.jsonl"
    log.symlink_to("/dev/full")
    client = await start_session(calc_project, log)
    try:
        code, output = run_pytest(calc_project)
        failure = {"commandLine": "pytest", "cwd": str(calc_project), "exitCode": code, "output": output}
        answered = []
        for outcome in (protocol.COMMAND_ACCEPT, protocol.COMMAND_REJECT):  # a rejected task is not re-proposed
            client.protocol.notify(protocol.TERMINAL_COMMAND, failure)
            proposal = await client.next_proposal()
            result = await client.execute(outcome, proposal["id"])  # an answer, not an internal error
            assert result["id"] == proposal["id"]
            answered.append(proposal["id"])
        told = [m.message for m in client.messages if "feedback log" in m.message]
        assert len(told) == 1 and "No space left on device" in told[0] and "kept in memory" in told[0]
        assert not [m for m in client.messages if "Traceback" in m.message or "Error in server" in m.message]

        log.unlink()
        log.touch()  # space again: the retry timer writes what was kept, in order

        await client.wait_until(lambda: len(read_log(log)) == 2 or None, timeout=20)
        records = read_log(log)
        assert [r["proposal_id"] for r in records] == answered
        assert [r["outcome"] for r in records] == ["accepted", "rejected"]
        await client.wait_until(lambda: any("again" in m.message for m in client.messages) or None, timeout=10)
    finally:
        await client.shutdown_session()
