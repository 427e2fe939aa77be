"""Replay: every shipped example and every ProactiveBench trace gives the same proposals through the
engine on virtual time and through the real server over stdio (proactive_ls.replay.over_lsp)."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from proactive_ls.replay.engine import ReplayResult, replay_file
from proactive_ls.replay.loaders import load_any
from proactive_ls.replay.over_lsp import replay_over_lsp
from tests.conftest import EXAMPLES, SHARED

SESSIONS = sorted(EXAMPLES.glob("*/session.jsonl"))
RECORDINGS = sorted(EXAMPLES.glob("*/recording.jsonl"))
TRACES = sorted((SHARED / "test_data").glob("*_1?.json"))


def comparable(result: ReplayResult) -> list[dict[str, Any]]:
    """Everything a proposal carries but its random id, with the time it was made.

    The gate's score is compared to 9 decimals: it sums floats over sets, whose order depends on
    the process's hash seed, so two processes can differ in the last bit.
    """
    out = []
    for step in result.steps:
        wire = {k: v for k, v in step["proposal"].items() if k != "id"}
        if wire.get("verdict") and wire["verdict"].get("score") is not None:
            wire["verdict"] = {**wire["verdict"], "score": round(wire["verdict"]["score"], 9)}
        out.append({**wire, "at": step["time"]})
    return out


def expected_tasks(path: Path) -> list[str]:
    if path.name == "recording.jsonl":
        return json.loads((path.parent / "expect.json").read_text())["tasks"]
    return load_any(path).header.expect["tasks"]


def test_the_examples_are_all_here() -> None:
    names = {p.parent.name for p in SESSIONS + RECORDINGS}
    assert {"failing-test", "quiet-editing", "errors-after-save", "recorded-session"} <= names


@pytest.mark.parametrize("path", SESSIONS + RECORDINGS, ids=lambda p: p.parent.name)
async def test_example_replays_the_same_both_ways_and_meets_its_expectation(path: Path) -> None:
    engine = await replay_file(path)
    server = await replay_over_lsp(path, {})
    assert [p.task for p in engine.proposals] == expected_tasks(path)
    assert comparable(server) == comparable(engine)
    assert (server.events, server.actions, server.filtered) == (engine.events, engine.actions, engine.filtered)
    assert engine.events > 0


async def test_errors_after_save_proposes_the_first_error_where_it_is() -> None:
    path = EXAMPLES / "errors-after-save" / "session.jsonl"
    result = await replay_over_lsp(path, {})
    [proposal] = result.proposals
    assert proposal.anchor is not None and proposal.anchor.uri.endswith("/shapes.py")
    assert proposal.anchor.range.start.line == 6  # the line that lost its parenthesis
    assert "'(' was never closed" in proposal.message
    events = [o["Event"] for o in proposal.observations]
    assert "The user saves 'shapes.py', which still has 1 error." in events


async def test_the_judge_applies_the_same_way_both_ways() -> None:
    # A bar no proposal reaches: the failing test is filtered, identically, both ways.
    path = EXAMPLES / "failing-test" / "session.jsonl"
    extra = {"judge": "gate", "gateThreshold": 1.0}
    engine = await replay_file(path, extra)
    server = await replay_over_lsp(path, extra)
    assert engine.proposals == [] and server.proposals == []
    assert engine.filtered == server.filtered == 1


# -- ProactiveBench traces -------------------------------------------------------------------------


def _last_event(messages: list[dict[str, str]]) -> str:
    body = json.loads(messages[-1]["content"])
    observations = body.get("Observations") if isinstance(body, dict) else None
    if not observations:
        return ""
    return str(observations[-1]["Event"])


class _StubModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint whose answer depends only on the request: it proposes when the
    latest event is a search, and stays silent otherwise. Real models are not deterministic
    enough to compare two replays; this one is, so the comparison has proposals to compare."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        event = _last_event(body["messages"])
        query = re.search(r"'([^']+)'", event)
        task = f"Summarise the results for '{query.group(1)}'" if "search" in event.lower() and query else None
        answer = {"Purpose": "stub", "Thoughts": "stub", "Proactive Task": task, "Response": task or ""}
        data = json.dumps(
            {"choices": [{"message": {"content": json.dumps(answer)}, "finish_reason": "stop"}], "model": "stub"}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def stub_model() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.shared
@pytest.mark.parametrize("path", TRACES or [SHARED / "test_data" / "missing.json"], ids=lambda p: p.stem)
async def test_trace_replays_the_same_both_ways(path: Path, stub_model: str) -> None:
    if not path.is_file():
        pytest.skip(f"the ProactiveBench data is not at {SHARED} (it lives beside the repository, in ../shared)")
    steps = json.loads(path.read_text())
    # The embedded proposer reads structured events, so it is silent on sentences: the honest baseline.
    engine = await replay_file(path)
    server = await replay_over_lsp(path, {})
    assert engine.events == server.events == len(steps)
    assert engine.proposals == server.proposals == []
    # A model answering the same questions the same way: the proposals, the policy's blocks, the gate's
    # filtering and the unanswered proposals' timeouts must all agree.
    extra = {
        "backend": "vllm",
        "judge": "gate",
        "model": {"url": stub_model, "name": "stub", "maxRetries": 0, "timeoutS": 10},
    }
    engine = await replay_file(path, extra)
    server = await replay_over_lsp(path, extra)
    assert comparable(server) == comparable(engine)
    assert (server.events, server.filtered) == (engine.events, engine.filtered)


@pytest.mark.shared
async def test_the_stub_model_gives_the_comparison_proposals_to_compare(stub_model: str) -> None:
    if not TRACES:
        pytest.skip(f"the ProactiveBench data is not at {SHARED} (it lives beside the repository, in ../shared)")
    extra = {
        "backend": "vllm",
        "judge": "gate",
        "model": {"url": stub_model, "name": "stub", "maxRetries": 0, "timeoutS": 10},
    }
    results = [await replay_file(p, extra) for p in TRACES]
    proposed = sum(len(r.proposals) for r in results)
    assert proposed >= 10, proposed  # so the comparison above is not between two empty lists
    assert sum(1 for r in results if r.proposals) >= 4


@pytest.mark.shared
def test_a_trace_keeps_its_steps_in_file_order() -> None:
    if not TRACES:
        pytest.skip(f"the ProactiveBench data is not at {SHARED} (it lives beside the repository, in ../shared)")
    path = SHARED / "test_data" / "writing_12.json"
    steps = json.loads(path.read_text())
    recording = load_any(path)
    assert [a.event["text"] for a in recording.actions] == [s["observation"]["event"] for s in steps]
    times = [a.time for a in recording.actions]
    assert times == sorted(times)  # steps recorded out of order keep their place, at their predecessor's time
    assert any(float(s["observation"]["time"]) < t for s, t in zip(steps, times, strict=True))


async def test_a_server_that_dies_is_reported_with_its_stderr() -> None:
    from proactive_ls.replay.over_lsp import ReplayError, replay_recording_over_lsp

    recording = load_any(EXAMPLES / "failing-test" / "session.jsonl")
    command = [sys.executable, "-c", "import sys; print('no server here', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(ReplayError, match="no server here"):
        await replay_recording_over_lsp(recording, {}, command=command)


async def test_invalid_settings_fail_before_a_server_is_started() -> None:
    with pytest.raises(ValueError, match="quietPeriodMs|quiet_period_ms"):
        await replay_over_lsp(EXAMPLES / "failing-test" / "session.jsonl", {"quietPeriodMs": -1})
