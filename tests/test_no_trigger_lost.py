"""No trigger is lost: every new event after the last question leads to a question once the quiet
period ends, unless a policy says why not (and then the question comes when the policy lifts).

Under load with randomized timing, against the model backend (the fake OpenAI server on a real
socket) and the real server over stdio: edit, save, proposal, reject, edit, save, ... with random
small gaps, a rejection cooldown that some rounds run into and others do not. Every round must
reach the model again. The seed is printed so a failing run can be replayed
(``PROACTIVE_LS_TRIGGER_SEED``).
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest
from lsprotocol import types

from proactive_ls.events import Observation
from proactive_ls.llm.prompt import StepLog
from proactive_ls.lsp import protocol
from tests.fault_server import FaultServer
from tests.lsp_client import start_session

T0 = 1_700_000_000.0
ROUNDS = int(os.environ.get("PROACTIVE_LS_TRIGGER_ROUNDS", "8"))


def _edit(client, uri: str, version: int, text: str) -> None:  # type: ignore[no-untyped-def]
    pos = types.Position(line=0, character=0)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=text)],
        )
    )


def _save(client, uri: str) -> None:  # type: ignore[no-untyped-def]
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


def test_an_event_that_renders_like_the_last_one_is_still_new() -> None:
    """Two saves of one file within a second render the same step; the second is still new."""
    log = StepLog()
    first, second = (Observation(time=T0, text="the user saved calc.py") for _ in range(2))
    assert log.sync([first]) == 1
    assert log.sync([first, second]) == 1
    assert log.sync([first, second]) == 0


@pytest.mark.parametrize("cooldown", [0.0, 0.4])
async def test_every_round_after_a_rejection_asks_the_model_again(
    tmp_path: Path, calc_project: Path, cooldown: float
) -> None:
    seed = int(os.environ.get("PROACTIVE_LS_TRIGGER_SEED", random.randrange(1 << 30)))
    print(f"PROACTIVE_LS_TRIGGER_SEED={seed}")
    rng = random.Random(seed)
    model = FaultServer().start()
    path = calc_project / "calc.py"
    uri = path.as_uri()
    try:
        client = await start_session(
            calc_project,
            tmp_path / "feedback.jsonl",
            settings={
                "backend": "vllm",
                "judge": "none",
                "learning": False,  # it would (rightly, and saying why) filter a task rejected every round
                "model": {"url": model.url, "name": model.model},
                "rejectCooldownS": cooldown,  # 0.4: some rounds trigger inside it, some after it
            },
        )
        try:
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id="python", version=1, text=path.read_text()
                    )
                )
            )
            version = 1
            for round_ in range(ROUNDS):
                # A new task each round: a rejected one is (rightly) not proposed again.
                model.answers["proactive_answer"]["Proactive Task"] = f"Round {round_}: open the failing assertion"
                asked_before = len(model.requests)
                for _ in range(rng.randint(1, 3)):
                    version += 1
                    _edit(client, uri, version, f"# round {round_}\n")
                    await asyncio.sleep(rng.uniform(0, 0.05))
                path.write_text(f"# round {round_}\n" + path.read_text())
                _save(client, uri)
                try:
                    proposal = await client.wait_until(
                        lambda r=round_: next(
                            (p for p in client.proposals if p["task"].startswith(f"Round {r}:")), None
                        ),
                        timeout=20,
                    )
                except TimeoutError:
                    status = await client.execute(protocol.COMMAND_STATUS)
                    raise AssertionError(
                        f"round {round_} (seed {seed}): the model was not asked again "
                        f"({len(model.requests) - asked_before} requests); last decision {status['lastDecision']!r}"
                    ) from None
                assert len(model.requests) > asked_before
                await asyncio.sleep(rng.uniform(0, 0.05))
                await client.execute(protocol.COMMAND_REJECT, proposal["id"])
                await asyncio.sleep(rng.uniform(0, 0.02))  # the next edit comes a few ms after the reject
            status = await client.execute(protocol.COMMAND_STATUS)
            assert status["rejected"] == ROUNDS
        finally:
            await client.shutdown_session()
    finally:
        model.stop()
