"""The event history: bounded, in arrival order, with a cursor marking what the proposer has seen."""

from __future__ import annotations

from collections import deque

from proactive_ls.events import EventBase


class History:
    def __init__(self, limit: int) -> None:
        self._events: deque[EventBase] = deque(maxlen=limit)
        self._unseen: list[EventBase] = []

    def add(self, event: EventBase) -> None:
        self._events.append(event)
        self._unseen.append(event)

    def events(self) -> list[EventBase]:
        return list(self._events)

    def take_unseen(self) -> list[EventBase]:
        """The events added since the last call; the proposer is asked about these."""
        unseen, self._unseen = self._unseen, []
        return unseen

    def has_unseen(self) -> bool:
        return bool(self._unseen)

    def restore(self, events: list[EventBase]) -> None:
        """Put events taken by :meth:`take_unseen` back in front (the question about them was never
        answered: it went stale), so the next question still covers them."""
        self._unseen[:0] = events

    def resize(self, limit: int) -> None:
        if limit != self._events.maxlen:
            self._events = deque(self._events, maxlen=limit)

    def __len__(self) -> int:
        return len(self._events)
