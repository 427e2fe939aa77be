"""What moves time for a session: the wall clock (a live server) or a virtual clock (replay).

Both drive the same :class:`Stepper`: flush the event sources whose deadline has come (edit
bursts, git polling), then tick the engine when its own deadline has come (a quiet period ends,
a proposal goes unanswered). Only the waiting differs: :class:`WallClock` sleeps until the next
deadline, :class:`VirtualClock` jumps to it when told to :meth:`~VirtualClock.advance`. So a
replay steps through exactly the deadlines a live server would, in the same order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from proactive_ls.engine.core import Engine, TickResult
from proactive_ls.events import EventBase

log = logging.getLogger(__name__)

OnTick = Callable[[TickResult], Awaitable[None]]


class TimedSource(Protocol):
    """Something that produces events when its own deadline passes."""

    def next_deadline(self) -> float | None: ...

    async def flush_due(self, now: float) -> list[EventBase]: ...


class Stepper:
    """The one step function both clocks share."""

    def __init__(self, engine: Engine, on_tick: OnTick) -> None:
        self.engine = engine
        self.on_tick = on_tick
        self.sources: list[TimedSource] = []
        #: Where the sources' events go (the session may hold them back until redaction can judge them).
        self.observe: Callable[[EventBase, float], None] = engine.observe

    def sources_deadline(self) -> float | None:
        soonest: float | None = None
        for source in self.sources:  # a loop, not min() over generators: asked at every step
            deadline = source.next_deadline()
            if deadline is not None and (soonest is None or deadline < soonest):
                soonest = deadline
        return soonest

    def next_deadline(self) -> float | None:
        sources, engine = self.sources_deadline(), self.engine.next_deadline()
        if sources is None or (engine is not None and engine < sources):
            return engine
        return sources

    def engine_due(self, now: float) -> bool:
        deadline = self.engine.next_deadline()
        return deadline is not None and deadline <= now

    async def flush_sources(self, now: float) -> None:
        """Hand the engine the events of every source whose deadline has come."""
        for source in self.sources:
            deadline = source.next_deadline()
            if deadline is None or deadline > now:
                continue
            try:
                events = await source.flush_due(now)
            except Exception:
                log.exception("an event source failed")
                events = []
            for event in events:
                self.observe(event, now)

    async def tick(self, now: float) -> TickResult:
        result = await self.engine.tick(now)
        await self.on_tick(result)
        return result

    async def step(self, now: float) -> TickResult | None:
        await self.flush_sources(now)
        return await self.tick(now) if self.engine_due(now) else None


class Driver(Protocol):
    """The seam between a session and time."""

    realtime: bool  # False: nothing outside the inputs may be sensed (no git polling)

    def __call__(self) -> float: ...

    def bind(self, stepper: Stepper) -> None: ...

    def start(self) -> None: ...

    def poke(self, deadline: float | None = None) -> None: ...

    async def aclose(self) -> None: ...


class WallClock:
    """A live server's clock: one loop that wakes at the next deadline, or when poked.

    An idle server sleeps; a busy one wakes once per deadline. The engine's tick runs as its own
    task, so events that arrive while a proposer is thinking are observed at once (and cancel
    the stale question).
    """

    realtime = True

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._stepper: Stepper | None = None
        self._wake = asyncio.Event()
        self._wake_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.clock()

    def bind(self, stepper: Stepper) -> None:
        self._stepper = stepper

    def start(self) -> None:
        if self._task is None and self._stepper is not None:
            self._task = asyncio.get_running_loop().create_task(self._loop(self._stepper), name="proactive-engine")

    def poke(self, deadline: float | None = None) -> None:
        """Wake the loop if it would otherwise sleep past `deadline` (or unconditionally)."""
        if deadline is None or self._wake_at is None or deadline < self._wake_at:
            self._wake.set()

    async def _loop(self, stepper: Stepper) -> None:
        while True:
            now = self.clock()
            await stepper.flush_sources(now)
            deadline = stepper.engine.next_deadline()
            idle = self._tick_task is None or self._tick_task.done()
            if idle and stepper.engine_due(now):
                self._tick_task = asyncio.get_running_loop().create_task(self._tick(stepper, now))
                idle = False
            deadlines = [d for d in (stepper.sources_deadline(),) if d is not None]
            if idle and deadline is not None:  # a running tick wakes the loop when it ends
                deadlines.append(deadline)
            self._wake_at = min(deadlines, default=None)
            self._wake.clear()
            timeout = None if self._wake_at is None else max(self._wake_at - self.clock(), 0.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _tick(self, stepper: Stepper, now: float) -> None:
        try:
            await stepper.tick(now)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("engine tick failed")
        finally:
            self._wake.set()

    async def aclose(self) -> None:
        for task in (self._task, self._tick_task):
            if task is not None:
                task.cancel()


class VirtualClock:
    """A replay's clock: it stands still until :meth:`advance` moves it, deadline by deadline."""

    realtime = False

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._stepper: Stepper | None = None

    def __call__(self) -> float:
        return self.now

    def bind(self, stepper: Stepper) -> None:
        self._stepper = stepper

    def start(self) -> None:
        return None

    def poke(self, deadline: float | None = None) -> None:
        return None  # nothing sleeps: the next advance looks at every deadline

    async def advance(self, until: float) -> list[TickResult]:
        """Run every deadline up to `until` in order, each at its own time; then stand at `until`."""
        results: list[TickResult] = []
        if self._stepper is not None:
            while (deadline := self._stepper.next_deadline()) is not None and deadline <= until:
                self.now = max(self.now, deadline)
                if (result := await self._stepper.step(self.now)) is not None:
                    results.append(result)
        self.now = max(self.now, until)
        return results

    async def aclose(self) -> None:
        return None


__all__ = ["Driver", "OnTick", "Stepper", "TimedSource", "VirtualClock", "WallClock"]
