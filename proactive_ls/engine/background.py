"""An event source whose work runs off the event loop: its events arrive when they are ready.

A git snapshot costs hundreds of milliseconds in a large repository. Awaited by the stepper, it
held back every engine deadline behind it (time-to-proposal p99 18 ms -> 173 ms). Here the work
runs in a worker thread as its own task; the stepper only collects what finished, and the task
wakes the driver when it does. Requests that come while one runs are coalesced into one more run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from proactive_ls.events import EventBase

log = logging.getLogger(__name__)

Work = Callable[[float, bool], list[EventBase]]  # (now, forced) -> events; runs in a thread


class BackgroundSource:
    """A :class:`~proactive_ls.engine.driver.TimedSource` that never makes the stepper wait.

    Due every `interval` seconds (or at once when :meth:`request` forces it). At its deadline
    :meth:`flush_due` starts the work as a task and returns at once with the events of runs
    that already finished; `wake` is called when a run ends, so its events are collected then.
    """

    def __init__(self, work: Work, interval: float, wake: Callable[[], None] | None = None) -> None:
        self.work = work
        self.interval = interval
        self.wake = wake
        self.next_at = 0.0
        self.forced = False
        self._task: asyncio.Task[list[EventBase]] | None = None
        self._ready: list[EventBase] = []

    @property
    def running(self) -> bool:
        return self._task is not None

    def next_deadline(self) -> float | None:
        if self._ready:
            return 0.0  # finished events wait to be collected
        if self._task is not None:
            return None  # a run is under way: it wakes the driver when it ends
        return self.next_at

    def request(self, now: float) -> None:
        """Run (forced) at `now`, or right after the run under way: coalesced into one."""
        self.forced = True
        self.next_at = now

    async def flush_due(self, now: float) -> list[EventBase]:
        events, self._ready = self._ready, []
        if self._task is None and self.next_at <= now:
            self.next_at = now + self.interval
            forced, self.forced = self.forced, False
            self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(self.work, now, forced))
            self._task.add_done_callback(self._finished)
        return events

    def _finished(self, task: asyncio.Task[list[EventBase]]) -> None:
        self._task = None
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("a background event source failed", exc_info=error)
        else:
            self._ready.extend(task.result())
        if self.wake is not None:
            self.wake()

    async def aclose(self) -> None:
        """Wait for a run under way (a thread cannot be cancelled) and drop its events."""
        task = self._task
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), 30)
            except Exception:  # noqa: BLE001 - closing: its failure was logged by _finished
                pass
        self._ready = []


__all__ = ["BackgroundSource", "Work"]
