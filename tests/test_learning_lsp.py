"""Learning from the user, over the real server: answers change what is proposed next, across restarts
and across two servers of the same user; a retrained gate reaches a running server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types

from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord
from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import ProactiveClient, eventually, read_log, start_session


def _env(data_home: Path) -> dict[str, str]:
    """The server's environment with its own user data folder (platformdirs reads XDG_DATA_HOME)."""
    return {**os.environ, "XDG_DATA_HOME": str(data_home)}


def _open(client: ProactiveClient, path: Path) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=path.read_text())
        )
    )
    return uri


def _errors_after_save(client: ProactiveClient, project: Path, name: str) -> None:
    """A new file saved with an error: the embedded rules propose to fix it (kind "errors_after_save")."""
    path = project / f"{name}.py"
    path.write_text(f"def {name}():\n    return missing_{name}\n")
    uri = _open(client, path)
    diagnostic = {
        "range": {"start": {"line": 1, "character": 11}, "end": {"line": 1, "character": 18}},
        "message": f'"missing_{name}" is not defined',
        "severity": 1,
        "source": "Pyright",
    }
    client.protocol.notify(protocol.DIAGNOSTICS, {"uri": uri, "diagnostics": [diagnostic]})
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


def _failed_run(client: ProactiveClient, project: Path) -> None:
    code, output = run_pytest(project)
    assert code == 1
    client.protocol.notify(
        protocol.TERMINAL_COMMAND,
        {"commandLine": "python -m pytest", "cwd": str(project), "exitCode": code, "output": output, "durationMs": 400},
    )


async def _status(client: ProactiveClient) -> dict[str, Any]:
    result: dict[str, Any] = await client.execute(protocol.COMMAND_STATUS)
    return result


async def _decided(client: ProactiveClient, triggers: int) -> dict[str, Any]:
    """Wait until the engine has decided on a proposal (shown it or kept it back) after `triggers` asks."""

    async def check() -> dict[str, Any] | None:
        status = await _status(client)
        decided = status["lastDecision"].startswith(("proposed", "filtered"))
        return status if status["triggers"] >= triggers and decided else None

    result: dict[str, Any] = await eventually(check, timeout=20)
    return result


async def test_a_rejected_kind_stays_silent_after_a_restart_while_an_accepted_kind_still_comes(
    tmp_path: Path, calc_project: Path
) -> None:
    log, data = tmp_path / "feedback.jsonl", tmp_path / "data"
    client = await start_session(calc_project, log, env=_env(data))
    try:
        _failed_run(client, calc_project)
        failure = await client.next_proposal()
        await client.execute(protocol.COMMAND_ACCEPT, failure["id"])
        rejected = 0
        for name in ("alpha", "beta", "gamma", "delta", "epsilon"):  # different files and tasks each time
            triggers = (await _status(client))["triggers"]
            _errors_after_save(client, calc_project, name)
            status = await _decided(client, triggers + 1)
            if not status["lastDecision"].startswith("proposed"):
                break  # already silenced by the answers so far
            proposal = client.proposals[-1]
            assert proposal["task"] == f"Fix the error in '{name}.py'"
            await client.execute(protocol.COMMAND_REJECT, proposal["id"])
            rejected += 1
        assert 2 <= rejected <= 5, f"silenced after {rejected} rejections"
        await eventually(lambda: sum(r["outcome"] == "rejected" for r in read_log(log)) == rejected)
        learned = (await _status(client))["learning"]
        assert learned["kinds"]["errors_after_save"]["rejected"] == rejected
        assert learned["kinds"]["failing_command"]["accepted"] == 1
    finally:
        await client.shutdown_session()

    client = await start_session(calc_project, log, env=_env(data))
    try:
        shown = len(client.proposals)
        _errors_after_save(client, calc_project, "zeta")
        status = await _decided(client, 1)
        assert status["lastDecision"].startswith("filtered: learned:"), status["lastDecision"]
        assert len(client.proposals) == shown
        assert status["learning"]["rebuiltBecause"] is None  # read from the saved state, not the log
        filtered = [r for r in read_log(log) if r["outcome"] == "filtered"]
        assert filtered[-1]["context"]["kind"] == "errors_after_save" and filtered[-1]["detail"].startswith("learned:")

        _failed_run(client, calc_project)
        again = await client.next_proposal()
        assert again["task"] == failure["task"]
    finally:
        await client.shutdown_session()


async def test_asking_for_a_proposal_brings_back_a_silenced_kind_and_an_accept_keeps_it(
    tmp_path: Path, calc_project: Path
) -> None:
    """A changed mind, heard: the user silenced a kind by rejecting it, then asks for a proposal
    (proposeNow); what the model held back is shown, saying why, and once accepted the kind comes
    again unasked."""
    log, data = tmp_path / "feedback.jsonl", tmp_path / "data"
    client = await start_session(calc_project, log, env=_env(data))
    try:
        for name in ("alpha", "beta", "gamma", "delta", "epsilon", "zeta"):
            triggers = (await _status(client))["triggers"]
            _errors_after_save(client, calc_project, name)
            status = await _decided(client, triggers + 1)
            if not status["lastDecision"].startswith("proposed"):
                break
            await client.execute(protocol.COMMAND_REJECT, client.proposals[-1]["id"])
        assert status["lastDecision"].startswith("filtered: learned:"), status["lastDecision"]
        held_back = len(client.proposals)

        answer = await client.execute(protocol.COMMAND_PROPOSE_NOW)
        assert len(answer["proposed"]) == 1, answer
        asked = await client.wait_until(lambda: client.proposals[-1] if len(client.proposals) > held_back else None)
        assert asked["id"] == answer["proposed"][0] and asked["task"] == f"Fix the error in '{name}.py'"
        await client.execute(protocol.COMMAND_ACCEPT, asked["id"])
        record = await eventually(
            lambda: next(
                (r for r in read_log(log) if r["proposal_id"] == asked["id"] and r["outcome"] == "accepted"), None
            )
        )
        assert record["judge_reason"].startswith("learned: you asked"), record["judge_reason"]

        triggers = (await _status(client))["triggers"]
        _errors_after_save(client, calc_project, "omega")  # the next one comes without asking
        status = await _decided(client, triggers + 1)
        assert status["lastDecision"].startswith("proposed"), status["lastDecision"]
        assert client.proposals[-1]["task"] == "Fix the error in 'omega.py'"
        assert status["learning"]["kinds"]["errors_after_save"]["accepted"] == 1
    finally:
        await client.shutdown_session()


def _state_files(data: Path) -> list[Path]:
    return sorted((data / "proactive-ls" / "learning").glob("*.json"))


async def test_a_corrupt_or_deleted_state_is_rebuilt_from_the_log(tmp_path: Path, calc_project: Path) -> None:
    log, data = tmp_path / "feedback.jsonl", tmp_path / "data"
    client = await start_session(calc_project, log, env=_env(data))
    try:
        for name in ("one", "two", "three"):
            triggers = (await _status(client))["triggers"]
            _errors_after_save(client, calc_project, name)
            status = await _decided(client, triggers + 1)
            if status["lastDecision"].startswith("proposed"):
                await client.execute(protocol.COMMAND_REJECT, client.proposals[-1]["id"])
        before = (await _status(client))["learning"]
    finally:
        await client.shutdown_session()
    [state] = _state_files(data)
    for damage, why in (("{not json", "corrupt"), (None, "no state file")):
        if damage is None:
            state.unlink()
        else:
            state.write_text(damage)
        client = await start_session(calc_project, log, env=_env(data))
        try:
            learned = (await _status(client))["learning"]
            assert why in learned["rebuiltBecause"]
            assert learned["kinds"] == before["kinds"] and learned["answers"] == before["answers"]
        finally:
            await client.shutdown_session()
        assert json.loads(state.read_text())["model"]["answers"] == before["answers"]


async def test_two_servers_answering_at_once_lose_no_update(tmp_path: Path, calc_project: Path) -> None:
    log, data = tmp_path / "feedback.jsonl", tmp_path / "data"
    # Silencing would stop the proposals this test answers: keep the bar at zero.
    settings = {"gateThreshold": 0.0}
    a = await start_session(calc_project, log, env=_env(data), settings=settings)
    b = await start_session(calc_project, log, env=_env(data), settings=settings)
    rounds = 3
    try:
        for i in range(rounds):
            for client, who in ((a, "a"), (b, "b")):
                _errors_after_save(client, calc_project, f"{who}{i}")
            pa, pb = await asyncio.gather(a.next_proposal(), b.next_proposal())
            await asyncio.gather(
                a.execute(protocol.COMMAND_REJECT, pa["id"]), b.execute(protocol.COMMAND_ACCEPT, pb["id"])
            )
        for client in (a, b):
            learned = (await _status(client))["learning"]
            assert learned["answers"] == 2 * rounds
            assert learned["kinds"]["errors_after_save"]["rejected"] == rounds
            assert learned["kinds"]["errors_after_save"]["accepted"] == rounds
    finally:
        await asyncio.gather(a.shutdown_session(), b.shutdown_session())
    [state] = _state_files(data)
    assert json.loads(state.read_text())["model"]["answers"] == 2 * rounds


# --------------------------------------------------------------------------------------------
# The gate model: train-gate on the user's log reaches a running server.


def _write_user_log(path: Path, n: int) -> None:
    """A user who accepts opening failures after a failed test run and rejects break reminders."""
    log = FeedbackLog(path)
    t = 1_760_000_000.0
    for i in range(n):
        t += 300
        failing = i % 2 == 0
        event = (
            f"The user ran 'pytest' in the terminal; tests/test_mod{i}.py::test_{i} failed with AssertionError."
            if failing
            else f"The user edited 'mod{i}.py' (3 lines changed)."
        )
        obs = [
            {"time": str(int(t) - 60), "event": "The user opened 'notes.md'."},
            {"time": str(int(t)), "event": event},
        ]
        for task, outcome in ((f"Open the failure of test_{i}", "accepted" if failing else "rejected"),):
            log.append_sync(
                FeedbackRecord(
                    proposal_id=f"p{i}",
                    outcome=outcome,  # type: ignore[arg-type]
                    proposed_at=t,
                    decided_at=t + 4,
                    task=task,
                    message=task,
                    operation="open_location",
                    observations=obs,
                    proposer="local",
                )
            )
        t += 30
        log.append_sync(
            FeedbackRecord(
                proposal_id=f"b{i}",
                outcome="rejected",
                proposed_at=t,
                decided_at=t + 4,
                task="Take a short break and stretch",
                message="Take a break?",
                operation="show_markdown",
                observations=obs,
                proposer="vllm",
            )
        )


def _train_gate(log: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "proactive_ls", "train-gate", "--feedback-log", str(log), "--json", *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(data), timeout=600)


async def test_train_gate_on_the_users_log_reaches_a_running_server(tmp_path: Path, calc_project: Path) -> None:
    data = tmp_path / "data"
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    _write_user_log(small, 10)
    _write_user_log(big, 40)
    client = await start_session(calc_project, tmp_path / "feedback.jsonl", env=_env(data), settings={"judge": "gate"})
    try:
        before = (await _status(client))["gateModel"]
        assert before["origin"] == "packaged" and before["heldOut"]["f1"] > 0

        refused = _train_gate(small, data)
        assert refused.returncode == 2, refused.stderr
        answer = json.loads(refused.stdout)
        assert not answer["installed"] and "at least 50" in answer["reason"]
        assert not (data / "proactive-ls" / "gate_model.json").exists()

        done = _train_gate(big, data)
        assert done.returncode == 0, done.stdout + done.stderr
        answer = json.loads(done.stdout)
        assert answer["installed"] and answer["rows"] == 80
        assert answer["heldOut"]["candidate"]["logLoss"] <= answer["heldOut"]["inUse"]["logLoss"]

        async def switched() -> dict[str, Any] | None:
            model: dict[str, Any] = (await _status(client))["gateModel"]
            return model if model["origin"] == "user" else None

        model = await eventually(switched)
        assert model["path"] == str(data / "proactive-ls" / "gate_model.json")
        assert model["version"] == answer["version"] and model["records"] == 80
        assert model["trainedAt"] and model["heldOut"]["n"] == answer["heldOut"]["candidate"]["n"]

        # A second run on the same log is compared with the model now in use (the user's).
        again = _train_gate(big, data)
        assert json.loads(again.stdout)["heldOut"]["inUse"]["model"].endswith("gate_model.json")
    finally:
        await client.shutdown_session()
