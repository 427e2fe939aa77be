"""The history as the gate sees it: the latest steps, each a sentence, its kinds, its time and its words.

The gate scores ProactiveBench observations (``{"time","event"}`` dicts) and our typed events
alike; this is where both become one shape, so the features need not care where a step came from.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from proactive_ls.judges.gate.kinds import event_kinds, sentence_kinds
from proactive_ls.judges.gate.text import GENERIC, UI_WORDS, words

if TYPE_CHECKING:
    from proactive_ls.events import EventBase

#: Only the latest events are looked at: ProactiveBench windows hold at most 21, and the cost of a
#: score must not grow with the history the engine keeps.
MAX_HISTORY = 20

# Times: "Day 1, 11:00 PM" (ProactiveBench reward data), "1717336761.455" (its test traces),
# "2025-01-02 10:11:12" (our rendered history), or floats (our events).
_DAY_TIME = re.compile(r"day\s*(\d+),\s*(\d{1,2}):(\d{2})\s*([ap]m)?", re.IGNORECASE)


def parse_time(value: Any) -> float | None:
    """Seconds on some clock, or None; only differences between steps are used."""
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _DAY_TIME.fullmatch(text)
    if m:
        day, hour, minute, half = int(m[1]), int(m[2]), int(m[3]), (m[4] or "").lower()
        if half:
            hour = hour % 12 + (12 if half == "pm" else 0)
        return ((day - 1) * 24 + hour) * 3600.0 + minute * 60.0
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class History:
    """The latest steps, oldest first, as parallel lists."""

    sentences: list[str]
    kinds: list[frozenset[str]]
    times: list[float | None]
    tokens: list[set[str]]
    #: Each step's tokens but the app, UI and generic words every step has (what a task can meet).
    salient: list[frozenset[str]]


@functools.lru_cache(maxsize=4096)
def _sentence_words(sentence: str) -> frozenset[str]:
    """The words of a step's sentence, computed once per sentence: a step is scored again at
    every decision while it stays among the latest :data:`MAX_HISTORY` (20 times over)."""
    return frozenset(words(sentence))


@functools.lru_cache(maxsize=4096)
def _salient_words(sentence: str) -> frozenset[str]:
    return _sentence_words(sentence) - UI_WORDS - GENERIC


_sentence_kinds = functools.lru_cache(maxsize=4096)(sentence_kinds)


def _norm_observation(obs: dict[str, Any]) -> tuple[str, Any]:
    event = obs.get("event", obs.get("Event", ""))
    time = obs.get("time", obs.get("Time"))
    return (event if isinstance(event, str) else str(event)), time


@dataclass(frozen=True)
class Step:
    """What the gate reads of one typed event, computed once per event (:class:`StepMemo`): a step
    stays among the latest :data:`MAX_HISTORY` for 20 decisions."""

    sentence: str
    kinds: frozenset[str]
    time: float
    words: frozenset[str]
    salient: frozenset[str]


def step_of(event: EventBase) -> Step:
    """The step :func:`read_history` makes of ``event`` (its rendered sentence, kinds, time, words)."""
    sentence = event.sentence()
    return Step(sentence, event_kinds(event), float(event.time), _sentence_words(sentence), _salient_words(sentence))


class StepMemo:
    """The steps of the latest events, by identity (events are frozen; a copy is a new event).

    Each entry holds its event, so no other event can take its id while it is kept; bounded, the
    oldest first out. One per judge: no state shared between sessions.
    """

    def __init__(self, size: int = 4 * MAX_HISTORY) -> None:
        self.size = size
        self._steps: dict[int, tuple[EventBase, Step]] = {}

    def history(self, events: Sequence[EventBase]) -> History:
        """The same :class:`History` as ``read_history(render_history(events), events)``."""
        steps = []
        memo = self._steps
        latest = events[-MAX_HISTORY:] if isinstance(events, list | tuple) else list(events)[-MAX_HISTORY:]
        for event in latest:
            entry = memo.get(id(event))
            if entry is None or entry[0] is not event:
                entry = (event, step_of(event))
                if len(memo) >= self.size:
                    del memo[next(iter(memo))]
                memo[id(event)] = entry
            steps.append(entry[1])
        return History(
            [s.sentence for s in steps],
            [s.kinds for s in steps],
            [s.time for s in steps],
            [set(s.words) for s in steps],
            [s.salient for s in steps],
        )


def read_history(observations: Sequence[dict[str, Any]], events: Sequence[EventBase] | None) -> History:
    """The latest steps: kinds and times from typed ``events`` when given, guessed from sentences otherwise."""
    observations = observations[-MAX_HISTORY:]
    events = events[-MAX_HISTORY:] if events else events
    pairs = [_norm_observation(o) for o in observations]
    sentences = [s for s, _ in pairs]
    if events and len(events) == len(sentences):
        kinds = [event_kinds(e) for e in events]
        times: list[float | None] = [float(e.time) for e in events]
    elif events:
        sentences = [e.sentence() for e in events]
        kinds = [event_kinds(e) for e in events]
        times = [float(e.time) for e in events]
    else:
        kinds = [_sentence_kinds(s) for s in sentences]
        times = [parse_time(t) for _, t in pairs]
    return History(
        sentences, kinds, times, [set(_sentence_words(s)) for s in sentences], [_salient_words(s) for s in sentences]
    )
