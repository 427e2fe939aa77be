"""The judge's fast path (each event read once, kept by identity) scores exactly what the gate
scored before it: the latest 20 events rendered, then read, at every decision.

Exact equality, on the 12 ProactiveBench test traces and on typed events of every kind the engine
sees (the bench's bursts and the packaged example sessions replayed through a real session).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from proactive_ls.bench.perf import _engine_events
from proactive_ls.bench.traces import default_data_dir, load_trace, trace_names
from proactive_ls.events import EventBase, Observation, render_history
from proactive_ls.judges.gate import MAX_HISTORY, Gate, GateJudge
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.replay.demo import example_sessions
from proactive_ls.replay.engine import Replayer, replay_settings
from proactive_ls.replay.loaders import load_any

DATA = default_data_dir()


def _reference(gate: Gate, events: list[EventBase], task: str | None) -> float:
    """The gate's score as GateJudge computed it before the fast path."""
    latest = events[-MAX_HISTORY:]
    return gate.score(render_history(latest), task, latest)


def _check(judge: GateJudge, events: list[EventBase], tasks: list[str | None]) -> int:
    compared = 0
    for i in range(1, len(events) + 1):
        history = events[:i]
        ctx = ProposalContext(history=history, new_events=history[-1:], now=history[-1].time)
        for task in tasks:
            assert judge.score(ctx, task) == _reference(judge.gate, history, task), (i, task)
            compared += 1
    return compared


@pytest.mark.skipif(not (DATA / "test_data").is_dir(), reason="ProactiveBench data absent")
def test_fast_path_scores_the_proactivebench_traces_as_before() -> None:
    judge = GateJudge()  # one judge over every trace: its memo sees events of many histories
    names = trace_names(DATA)
    assert len(names) == 12
    compared = 0
    for name in names:
        steps = load_trace(DATA / "test_data" / f"{name}.json")
        events: list[EventBase] = [Observation(time=s.time, text=s.event) for s in steps]
        tasks = [None, "Continue working on the project", *{t for s in steps for t in s.candidate_tasks[:1]}]
        compared += _check(judge, events, tasks[:6])
    assert compared > 1000


def test_fast_path_scores_typed_events_as_before(tmp_path: Path) -> None:
    judge = GateJudge()
    tasks: list[str | None] = [None, "Open the failure of `test_add` at tests/test_calc.py:9", "Fix the errors"]
    assert _check(judge, _engine_events(300, tmp_path), tasks) == 900


async def test_fast_path_scores_the_example_sessions_as_before() -> None:
    judge = GateJudge()
    with example_sessions() as paths:
        for path in paths:
            recording = load_any(path)
            replayer = Replayer(recording, replay_settings(recording))
            await replayer.run()
            events = replayer.session.engine.history.events()
            assert events, path
            _check(judge, events, [None, "Open the failing test", "Fix the errors in the saved file"])
