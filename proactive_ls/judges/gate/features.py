"""The gate's features: named, readable values of one (history, task-or-silence) pair.

Each feature family is one small function saying what it measures and why it should matter;
:func:`features` composes them. The names are the keys of the trained weights, so renaming a
feature, or changing what it computes, needs a new :data:`FEATURES_VERSION` and a retrained model.
Keep the order in which features are produced, too: scoring sums with ``math.fsum`` and does not
depend on it, but training (``gate_train``) sums in that order, and rebuilds the model byte for byte.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import statistics
from collections.abc import Sequence, Set
from typing import TYPE_CHECKING, Any

from proactive_ls.judges.gate.history import History, read_history
from proactive_ls.judges.gate.text import FILE_NAME, GENERIC, TASK_TOPICS, TASK_VERBS, UI_WORDS, quoted, words

if TYPE_CHECKING:
    from proactive_ls.events import EventBase

#: The version of what :func:`features` computes; a model trained on another version is refused.
FEATURES_VERSION = 1

_FIRST_PERSON = re.compile(r"(i |i'|would you|do you|if you|let me|shall i|can i)")
_THE_USER = re.compile(r"\bthe user\b|\buser's\b")
_YOU = re.compile(r"\byou\b|\byour\b")
_LETTERS = re.compile(r"[a-z]+")


def features(
    observations: Sequence[dict[str, Any]],
    task: str | None,
    events: Sequence[EventBase] | None = None,
    recent_rejections: int = 0,
) -> dict[str, float]:
    """The named feature values of one (history, task-or-silence) pair.

    History features are emitted twice over, prefixed ``s|`` for silence and ``p|`` for a proposal,
    because the same history (an error, a fresh search) argues *for* a proposal and *against*
    silence. Task features (``t|``) and task words (``w|``) only exist for proposals.
    """
    return features_of(read_history(observations, events), task, recent_rejections)


def features_of(h: History, task: str | None, recent_rejections: int = 0) -> dict[str, float]:
    """:func:`features` of a history already read (the judge keeps each event's step)."""
    silent = task is None or not task.strip()
    side = "s|" if silent else "p|"
    f: dict[str, float] = {side + "bias": 1.0}
    for name, value in history_features(h, recent_rejections).items():
        if value:
            f[side + name] = value
    if silent or task is None:
        return f
    f.update(task_features(h, task))
    return {k: v for k, v in f.items() if v}


# --------------------------------------------------------------------------------------------
# The history, whatever is proposed.


def history_features(h: History, recent_rejections: int) -> dict[str, float]:
    """Every history feature, unprefixed (zeros included; the caller drops them)."""
    if not h.sentences:
        return {"empty": 1.0}
    return {
        **_kinds_now(h),
        **_kind_counts(h),
        **_errors(h),
        **_repetition(h),
        **_streaks(h),
        **_novelty(h),
        **_position(h),
        **_timing(h),
        **_rejections(recent_rejections),
    }


def _kinds_now(h: History) -> dict[str, float]:
    """The kinds of the latest step and of the three before it: what the user does decides what helps."""
    f: dict[str, float] = {}
    last = h.kinds[-1]
    for k in last:
        f["last:" + k] = 1.0
    if not last:
        f["last:other"] = 1.0
    recent: set[str] = set()
    for ks in h.kinds[-4:-1]:
        recent |= ks
    for k in recent:
        f["recent:" + k] = 1.0
    return f


def _kind_counts(h: History) -> dict[str, float]:
    """How many steps searched, failed or read (log-damped): a long search or struggle invites help."""
    return {
        "n_search": math.log1p(sum("search" in k for k in h.kinds)) / 2,
        "n_error": math.log1p(sum("error" in k for k in h.kinds)) / 2,
        "n_read": math.log1p(sum("read" in k for k in h.kinds)) / 2,
    }


def _errors(h: History) -> dict[str, float]:
    """Whether an error is still open (nothing succeeded after it) or just happened: help is most wanted then."""
    open_error = False
    for ks in h.kinds:
        if "error" in ks:
            open_error = True
        elif "success" in ks:
            open_error = False
    return {
        "error_open": float(open_error),
        "error_recent": float(any("error" in k for k in h.kinds[-3:])),
    }


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@functools.lru_cache(maxsize=4096)
def _lower_quotes(sentence: str) -> tuple[str, ...]:
    """The quoted strings of a step's sentence, lower-cased (once per sentence, not per decision)."""
    return tuple(q.lower() for q in quoted(sentence))


@functools.lru_cache(maxsize=1024)
def _words(text: str) -> tuple[str, ...]:
    """:func:`words` of a task or a quote, kept: the same tasks come back decision after decision."""
    return tuple(words(text))


def _repetition(h: History) -> dict[str, float]:
    """The same thing again (a retried search, a rerun that fails the same way): a sign of being stuck."""
    earlier = h.tokens[:-1]
    last_quotes = set(_lower_quotes(h.sentences[-1]))
    return {
        "repeat": max((_jaccard(h.tokens[-1], t) for t in earlier), default=0.0),
        "repeat_quote": float(any(q in last_quotes for s in h.sentences[:-1] for q in _lower_quotes(s))),
    }


def _streaks(h: History) -> dict[str, float]:
    """How long the latest kind has lasted, and how long the user has only idled or browsed (log-damped)."""
    last = h.kinds[-1]
    streak = 0
    for ks in reversed(h.kinds):
        if ks & last or (not ks and not last):
            streak += 1
        else:
            break
    idle = 0
    for ks in reversed(h.kinds):
        if ks and ks <= {"idle", "browse", "switch"}:
            idle += 1
        else:
            break
    return {"streak": math.log(streak) / 2, "idle_streak": math.log1p(idle) / 2}


def _novelty(h: History) -> dict[str, float]:
    """Something new in the latest step (a fresh query, an unseen file, unseen words): a new need."""
    n = len(h.sentences)
    last_quotes = set(_lower_quotes(h.sentences[-1]))
    seen_quotes = {q for s in h.sentences[:-1] for q in _lower_quotes(s)}
    new_quotes = last_quotes - seen_quotes
    files = set(FILE_NAME.findall(h.sentences[-1].lower()))
    sal_last = h.salient[-1]
    seen: set[str] = set().union(*h.tokens[:-1]) if n > 1 else set()
    return {
        "last_quote": float(bool(last_quotes)),
        "new_query": float(bool(new_quotes) and "search" in h.kinds[-1]),
        "new_file": float(bool(files) and not any(fl in s.lower() for fl in files for s in h.sentences[:-1])),
        "novelty": len(sal_last - seen) / len(sal_last) if sal_last and n > 1 else 0.0,
    }


def _position(h: History) -> dict[str, float]:
    """Where in the trace we are: the first steps give a proposal little to go on."""
    n = len(h.sentences)
    return {"pos": min(n, 20) / 20, "first": float(n == 1), "early": float(n <= 3)}


def _timing(h: History) -> dict[str, float]:
    """The latest pause relative to this user's own pace (synthetic traces move in minutes, real ones in seconds)."""
    n = len(h.sentences)
    gaps = [b - a for a, b in itertools.pairwise(h.times) if a is not None and b is not None and b >= a]
    last_gap = None
    if n >= 2 and h.times[-1] is not None and h.times[-2] is not None and h.times[-1] >= h.times[-2]:
        last_gap = h.times[-1] - h.times[-2]
    if last_gap is None or len(gaps) < 2:
        return {"gap_unknown": 1.0}
    typical = statistics.median(gaps[:-1]) or 1.0
    rel = max(-3.0, min(3.0, math.log((last_gap + 1.0) / (typical + 1.0))))
    return {"gap_rel": rel / 3, "gap_long": float(rel > math.log(3)), "gap_short": float(rel < -math.log(3))}


def _rejections(recent_rejections: int) -> dict[str, float]:
    """The proposals the user rejected lately (log-damped): someone who keeps saying no wants fewer."""
    return {"rejections": math.log1p(max(0, recent_rejections))}


# --------------------------------------------------------------------------------------------
# The proposed task.


def task_features(h: History, task: str) -> dict[str, float]:
    """Every task feature: the task alone and against the history (``t|``), and its words (``w|``)."""
    t_all = _words(task)
    t = set(t_all)
    content = t - GENERIC
    topics = _task_topics(t)
    f = {
        **_task_form(task, t_all),
        **_task_vagueness(t, content),
        **{"topic:" + topic: 1.0 for topic in topics},
    }
    if h.sentences:
        f.update(_task_overlap(h, content))
        f.update(_task_fit(h, topics))
    else:
        f["novel"] = 1.0
    return {**{"t|" + k: v for k, v in f.items()}, **{"w|" + w: 1.0 for w in t}}


def _task_form(task: str, t_all: Sequence[str]) -> dict[str, float]:
    """How the task is phrased: its length, a question, whom it addresses, its opening verb."""
    f = {"len": math.log1p(len(t_all)) / 3}
    text = task.strip()
    lower = text.lower()
    if "?" in text:
        f["question"] = 1.0
    if _FIRST_PERSON.match(lower):
        f["first_person"] = 1.0
    if _THE_USER.search(lower):
        f["the_user"] = 1.0
    if _YOU.search(lower):
        f["you"] = 1.0
    first = _LETTERS.findall(lower)[:1]
    verb = first[0] if first and first[0] in TASK_VERBS else "other"
    f["verb:" + verb] = 1.0
    return f


def _task_vagueness(t: set[str], content: set[str]) -> dict[str, float]:
    """How much of the task is generic words ('help', 'provide', 'project'): a vague proposal rarely helps."""
    return {"generic": (len(t) - len(content)) / len(t) if t else 1.0, "vague": float(len(content) <= 1)}


def _task_topics(t: set[str]) -> list[str]:
    """What the task is about (code, a fix, learning, ...), in :data:`TASK_TOPICS` order."""
    return [topic for topic, vocab in TASK_TOPICS.items() if t & vocab]


def _task_overlap(h: History, content: set[str]) -> dict[str, float]:
    """How the task meets the history: a proposal about what the user just did is the one that helps.

    Salient words only (not the app or UI words every step has), weighted by how rare they are in
    this history, and where in the history the task points.
    """
    n = len(h.sentences)
    sal_task = content - UI_WORDS
    sal_events = h.salient
    df: dict[str, int] = {}
    for toks in sal_events:
        for w in toks:
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
    norm = (
        math.fsum(idf.get(w, math.log(2 * (n + 1))) for w in sal_task) or 1.0
    )  # fsum: exact, so set order cannot change the score

    def ov(toks: Set[str]) -> float:
        return math.fsum(idf[w] for w in sal_task & toks) / norm

    per_event = [ov(toks) for toks in sal_events]
    ov_recent = max(per_event[-3:])
    ov_old = max(per_event[:-3], default=0.0)
    recent_union: set[str] = set().union(*sal_events[-3:])
    all_union: set[str] = set().union(*sal_events)
    quotes: set[str] = set()
    for s in h.sentences[-3:]:
        for q in quoted(s):
            quotes.update(_words(q))
    f = {
        "ov_last": per_event[-1],
        "ov_recent": ov_recent,
        "ov_recent_all": ov(recent_union),
        "ov_any": ov(all_union),
        "stale": max(0.0, ov_old - ov_recent),
        "novel": len(sal_task - all_union) / max(1, len(sal_task)),
        "ov_quote": ov(quotes - UI_WORDS),
    }
    best = max(per_event)
    if best <= 0:
        f["focus:none"] = 1.0
    else:
        age = n - 1 - max(i for i, v in enumerate(per_event) if v == best)
        f["focus:" + ("last" if age == 0 else "recent" if age <= 2 else "old")] = 1.0
    if not sal_task:
        f["no_salient"] = 1.0
    return f


def _task_fit(h: History, topics: list[str]) -> dict[str, float]:
    """Whether the task's topic fits the moment: a fix after an error, code while editing, notes while reading."""
    f: dict[str, float] = {}
    last = h.kinds[-1]
    if "fix" in topics and any("error" in k for k in h.kinds[-3:]):
        f["fix_after_error"] = 1.0
    if "fix" in topics and not any("error" in k for k in h.kinds):
        f["fix_without_error"] = 1.0
    if "code" in topics and "edit" in set().union(*h.kinds[-3:]):
        f["code_while_editing"] = 1.0
    if ("learn" in topics or "search" in topics) and ("search" in last or "read" in last):
        f["learn_while_searching"] = 1.0
    if "summary" in topics and ("read" in last or "browse" in last):
        f["summary_while_reading"] = 1.0
    return f
