"""The user in control, over the real server: pause, resume, mutes, `enabled`, manual mode, and the
control file that every server of the user follows (two real server processes)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest

from proactive_ls.control.kinds import ProposalKind
from proactive_ls.control.store import ControlStore, Mute
from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import ProactiveClient, eventually, read_log, start_session
from tests.test_lsp_proposals import _terminal, _wait_for_decision


@pytest.fixture
def failing_run(calc_project: Path) -> tuple[int, str]:
    code, output = run_pytest(calc_project)
    assert code == 1
    return code, output


def _data_env(folder: Path) -> dict[str, str]:
    return {**os.environ, "XDG_DATA_HOME": str(folder)}


async def _decision_after_failure(client: ProactiveClient, project: Path, run: tuple[int, str]) -> dict:
    triggers = (await client.execute(protocol.COMMAND_STATUS))["triggers"]
    _terminal(client, "python -m pytest", project, *run)
    return await _wait_for_decision(client, triggers + 1)


async def test_pause_until_resumed_withdraws_pending_and_blocks(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    log = tmp_path / "feedback.jsonl"
    client = await start_session(calc_project, log)
    try:
        _terminal(client, "python -m pytest", calc_project, *failing_run)
        proposal = await client.next_proposal()
        status = await client.execute(protocol.COMMAND_PAUSE)
        assert status["paused"] and status["pausedUntil"] is None and status["pending"] == 0
        await client.wait_until(lambda: {"id": proposal["id"], "outcome": "snoozed"} in client.resolved)
        assert read_log(log)[0]["detail"] == "paused until resumed"

        status = await _decision_after_failure(client, calc_project, failing_run)
        assert status["lastDecision"] == "blocked: paused"

        status = await client.execute(protocol.COMMAND_RESUME)
        assert not status["paused"]
        (calc_project / "tests" / "test_calc.py").write_text("def test_other():\n    assert 1 == 2\n")
        _terminal(client, "python -m pytest", calc_project, *run_pytest(calc_project))
        assert "test_other" in (await client.next_proposal())["task"]

        timed = await client.execute(protocol.COMMAND_PAUSE, {"minutes": 10})
        assert timed["paused"] and isinstance(timed["pausedUntil"], float)  # a time, not null
        with pytest.raises(Exception, match="minutes"):
            await client.execute(protocol.COMMAND_PAUSE, {"minutes": -1})
    finally:
        await client.shutdown_session()


async def test_mute_a_kind_by_language_then_unmute(tmp_path: Path, calc_project: Path, failing_run) -> None:
    client = await start_session(calc_project, tmp_path / "feedback.jsonl")
    try:
        muted = await client.execute(protocol.COMMAND_MUTE, {"kind": "failing-command", "language": "go"})
        assert muted["mutes"] == [
            {"kind": "failing_command", "language": "go", "glob": None, "at": muted["mute"]["at"]}
        ]
        _terminal(client, "python -m pytest", calc_project, *failing_run)
        first = await client.next_proposal()
        assert first["language"] == "python"  # a Go mute does not silence Python
        await client.execute(protocol.COMMAND_REJECT, first["id"])

        await client.execute(protocol.COMMAND_MUTE, {"kind": "failing_command", "glob": "tests/**"})
        (calc_project / "tests" / "test_calc.py").write_text("def test_other():\n    assert 1 == 2\n")
        other = run_pytest(calc_project)
        status = await _decision_after_failure(client, calc_project, other)
        assert status["lastDecision"] == "muted: failing_command for tests/**"
        assert status["muted"] == 1 and len(status["mutes"]) == 2

        listed = await client.execute(protocol.COMMAND_MUTES)
        assert [m["glob"] for m in listed["mutes"]] == [None, "tests/**"]
        removed = await client.execute(protocol.COMMAND_UNMUTE, {"kind": "failing_command", "glob": "tests/**"})
        assert removed["removed"] == 1 and len(removed["mutes"]) == 1
        _terminal(client, "python -m pytest", calc_project, *other)
        assert "test_other" in (await client.next_proposal())["task"]
        assert (await client.execute(protocol.COMMAND_UNMUTE, {}))["mutes"] == []  # no kind: every mute
        with pytest.raises(Exception, match="unknown kind"):
            await client.execute(protocol.COMMAND_MUTE, {"kind": "everything"})
    finally:
        await client.shutdown_session()


async def test_disabled_and_manual_mode(tmp_path: Path, calc_project: Path, failing_run) -> None:
    client = await start_session(calc_project, tmp_path / "feedback.jsonl", settings={"enabled": False})
    try:
        status = await _decision_after_failure(client, calc_project, failing_run)
        assert status["lastDecision"] == "blocked: disabled (enabled: false)" and not status["enabled"]
        assert not client.proposals
    finally:
        await client.shutdown_session()

    client = await start_session(calc_project, tmp_path / "feedback2.jsonl", settings={"mode": "manual"})
    try:
        _terminal(client, "python -m pytest", calc_project, *failing_run)
        status = await eventually(lambda: _manual_waiting(client), timeout=15)
        assert status["mode"] == "manual" and not client.proposals
        answer = await client.execute(protocol.COMMAND_PROPOSE_NOW)
        proposal = await client.wait_until(lambda: client.proposals[0] if client.proposals else None)
        assert answer["proposed"] == [proposal["id"]] and "test_precedence" in proposal["task"]
    finally:
        await client.shutdown_session()


async def _manual_waiting(client: ProactiveClient) -> dict | None:
    status = await client.execute(protocol.COMMAND_STATUS)
    return status if status["lastDecision"].startswith("manual mode") else None


async def test_two_windows_share_the_pause_and_mutes_across_restarts(
    tmp_path: Path, calc_project: Path, failing_run
) -> None:
    data = tmp_path / "user-data"
    a = await start_session(calc_project, tmp_path / "a.jsonl", env=_data_env(data))
    b = await start_session(calc_project, tmp_path / "b.jsonl", env=_data_env(data))
    try:
        _terminal(b, "python -m pytest", calc_project, *failing_run)
        pending = await b.next_proposal()

        await a.execute(protocol.COMMAND_PAUSE)  # paused in window A...
        await b.wait_until(lambda: {"id": pending["id"], "outcome": "snoozed"} in b.resolved)  # ...B follows
        assert (await b.execute(protocol.COMMAND_STATUS))["paused"]
        assert (await _decision_after_failure(b, calc_project, failing_run))["lastDecision"] == "blocked: paused"

        # B restarts: still paused (the pause is in the user's data folder, not in a process).
        await b.shutdown_session()
        b = await start_session(calc_project, tmp_path / "b2.jsonl", env=_data_env(data))
        assert (await b.execute(protocol.COMMAND_STATUS))["paused"]

        await a.execute(protocol.COMMAND_MUTE, {"kind": "conflict"})
        await a.execute(protocol.COMMAND_RESUME)
        status = await b.execute(protocol.COMMAND_STATUS)
        assert not status["paused"] and [m["kind"] for m in status["mutes"]] == ["conflict"]
        _terminal(b, "python -m pytest", calc_project, *failing_run)
        assert "test_precedence" in (await b.next_proposal())["task"]
    finally:
        await a.shutdown_session()
        await b.shutdown_session()


def _mute_many(path: str, language: str, n: int) -> None:
    store = ControlStore(Path(path))
    for i in range(n):
        store.mute(Mute(kind=ProposalKind.SYNTAX_ERROR, language=f"{language}{i}"))


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Four processes add mutes at once: the lock and the atomic replace keep every one of them."""
    path = tmp_path / "control.json"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_mute_many, args=(str(path), f"w{w}-", 15)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    mutes = ControlStore(path).state().mutes
    assert len(mutes) == 60 and len({m.language for m in mutes}) == 60


def test_a_damaged_control_file_pauses_and_mutes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "control.json"
    path.write_text("{not json")
    store = ControlStore(path)
    assert store.state().mutes == [] and not store.state().pause_active(0.0)
    store.mute(Mute(kind=ProposalKind.CONFLICT))  # and it can be written again
    assert [m.kind for m in ControlStore(path).state().mutes] == [ProposalKind.CONFLICT]
