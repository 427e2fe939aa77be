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
from proactive_ls.judges.gate.text import words

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


@functools.lru_cache(maxsize=4096)
def _sentence_words(sentence: str) -> frozenset[str]:
    """The words of a step's sentence, computed once per sentence: a step is scored again at
    every decision while it stays among the latest :data:`MAX_HISTORY` (20 times over)."""
    return frozenset(words(sentence))


_sentence_kinds = functools.lru_cache(maxsize=4096)(sentence_kinds)


def _norm_observation(obs: dict[str, Any]) -> tuple[str, Any]:
    event = obs.get("event", obs.get("Event", ""))
    time = obs.get("time", obs.get("Time"))
    return (event if isinstance(event, str) else str(event)), time


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
    return History(sentences, kinds, times, [set(_sentence_words(s)) for s in sentences])
