"""Git snapshots run off the loop: the stepper never waits for them, and requests coalesce."""

from __future__ import annotations

import asyncio
import threading

from proactive_ls.config import Settings
from proactive_ls.engine import Engine
from proactive_ls.engine.background import BackgroundSource
from proactive_ls.engine.driver import Stepper
from proactive_ls.events import EventBase, GitCommitted
from proactive_ls.proposers.local import LocalProposer


class _SlowGit:
    """Work that blocks until released, as a git snapshot in a big repository does."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.runs: list[tuple[float, bool]] = []

    def __call__(self, now: float, forced: bool) -> list[EventBase]:
        self.runs.append((now, forced))
        self.started.set()
        assert self.release.wait(60), "never released"
        return [GitCommitted(time=now, sha="0" * 40, summary=f"run {len(self.runs)}")]


async def test_the_stepper_does_not_wait_for_a_running_snapshot() -> None:
    async def on_tick(_: object) -> None:
        return None

    engine = Engine(Settings(), LocalProposer())
    stepper = Stepper(engine, on_tick)
    work = _SlowGit()
    woken = asyncio.Event()
    source = BackgroundSource(work, interval=30.0, wake=woken.set)
    stepper.sources.append(source)

    await asyncio.wait_for(stepper.flush_sources(1.0), 5)  # starts the run and returns at once
    assert await asyncio.to_thread(work.started.wait, 30)
    assert source.running and source.next_deadline() is None  # nothing to do until it ends
    assert len(engine.history) == 0

    source.request(2.0)  # the client says git files changed: twice, while the run goes on
    source.request(3.0)
    work.release.set()
    await asyncio.wait_for(woken.wait(), 30)
    assert source.next_deadline() == 0.0  # finished events wait to be collected
    await stepper.flush_sources(4.0)  # collects run 1 and starts the one coalesced run
    assert [e.summary for e in engine.history.events() if isinstance(e, GitCommitted)] == ["run 1"]
    woken.clear()
    await asyncio.wait_for(woken.wait(), 30)
    await stepper.flush_sources(5.0)
    assert work.runs == [(1.0, False), (4.0, True)]  # two requests, one more run, forced
    assert source.next_deadline() == 4.0 + 30.0
    await source.aclose()
