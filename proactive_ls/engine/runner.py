"""Drives an Engine on the wall clock: one loop that wakes at the next deadline.

Event sources with deadlines of their own (edit bursts, git polling) are flushed by the same
loop, so an idle server sleeps and a busy one does no more than one wake-up per deadline.
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


class TimedSource(Protocol):
    """Something that produces events when its own deadline passes."""

    def next_deadline(self) -> float | None: ...

    async def flush_due(self, now: float) -> list[EventBase]: ...


OnTick = Callable[[TickResult], Awaitable[None]]


class EngineRunner:
    def __init__(self, engine: Engine, on_tick: OnTick, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.on_tick = on_tick
        self.clock = clock
        self.sources: list[TimedSource] = []
        self._wake = asyncio.Event()
        self._wake_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._tick_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="proactive-engine")

    def observe(self, events: list[EventBase]) -> None:
        now = self.clock()
        for event in events:
            self.engine.observe(event, now)
        self.poke()

    def poke(self, deadline: float | None = None) -> None:
        """Wake the loop if it would otherwise sleep past `deadline` (or unconditionally)."""
        if deadline is None or self._wake_at is None or deadline < self._wake_at:
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            now = self.clock()
            for source in self.sources:
                deadline = source.next_deadline()
                if deadline is not None and deadline <= now:
                    try:
                        events = await source.flush_due(now)
                    except Exception:
                        log.exception("an event source failed")
                        events = []
                    for event in events:
                        self.engine.observe(event, now)
            deadline = self.engine.next_deadline()
            idle = self._tick_task is None or self._tick_task.done()
            if idle and deadline is not None and deadline <= now:
                self._tick_task = asyncio.get_running_loop().create_task(self._tick(now))
                idle = False
            deadlines = [d for d in (s.next_deadline() for s in self.sources) if d is not None]
            if idle and deadline is not None:  # a running tick wakes the loop when it ends
                deadlines.append(deadline)
            self._wake_at = min(deadlines, default=None)
            self._wake.clear()
            timeout = None if self._wake_at is None else max(self._wake_at - self.clock(), 0.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    async def _tick(self, now: float) -> None:
        try:
            result = await self.engine.tick(now)
            await self.on_tick(result)
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
        await self.engine.aclose()
