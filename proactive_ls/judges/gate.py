"""The gate: a small reward model that decides when a proposal is worth an interruption.

Published proactive agents propose on almost every event and half of what they propose is
rejected. The gate scores ``(history, proposed task or silence)`` with the probability that the
user accepts it, so the engine can stay silent below a bar set by the user's eagerness.

It is a logistic regression over explicit, readable features: coarse kinds of the recent events
(from our typed events when we have them, from the sentences otherwise), timing, failures,
repetition, position in the trace, whether the proposal is silence, how the task overlaps the
latest events, a few words of the task, and recent rejections. The weights are plain JSON
(``gate_model.json`` beside this file, trained on ProactiveBench's human judgements, Apache-2.0;
see ``gate_train.py``) and scoring is pure Python: no numpy, no pickle, well under a millisecond.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proactive_ls.proposals import Suggestion, Verdict

if TYPE_CHECKING:
    from proactive_ls.events import EventBase
    from proactive_ls.proposers.base import ProposalContext

FORMAT = "proactive-ls-gate"
FEATURES_VERSION = 1
PACKAGED_MODEL = Path(__file__).with_name("gate_model.json")
#: Only the latest events are looked at: ProactiveBench windows hold at most 21, and the cost of a
#: score must not grow with the history the engine keeps.
MAX_HISTORY = 20

#: The bar a score must reach for each eagerness. The packaged model is calibrated on
#: judgements where 38% of proposals-or-silences were accepted; "normal" is the bar chosen on the
#: development traces (see docs/evaluation.md, "The gate"), "quiet" asks for a likely accept,
#: "eager" lets through anything not clearly unwanted.
EAGERNESS_THRESHOLDS: dict[str, float] = {"quiet": 0.50, "normal": 0.35, "eager": 0.25}

# --------------------------------------------------------------------------------------------
# Events as coarse kinds.

KINDS: tuple[str, ...] = (
    "search",
    "read",
    "browse",
    "edit",
    "run",
    "error",
    "success",
    "switch",
    "open",
    "idle",
    "copy",
    "save",
    "git",
    "chat",
)

# Each kind: word prefixes, whole words, and phrases. Word tests on a token set are several times
# faster than fourteen case-insensitive regular expressions, which matters at every keystroke.
_KIND_RULES: dict[str, tuple[tuple[str, ...], frozenset[str], tuple[str, ...]]] = {
    "search": (("search", "googl"), frozenset({"bing", "query", "queries"}), ("look up", "looks up")),
    "read": (
        ("read", "tutorial", "documentation", "article", "blog", "review", "wiki"),
        frozenset({"doc", "docs", "guide", "thread", "paper", "abstract", "csdn", "stackoverflow"}),
        ("stack overflow",),
    ),
    "browse": (
        ("browser", "visit", "navigat", "webpage", "website"),
        frozenset({"tab", "tabs", "page", "pages", "chrome"}),
        ("web page", "http://", "https://"),
    ),
    "edit": (
        ("edit", "modif", "implement", "writ"),
        frozenset(
            {
                "change",
                "changes",
                "changed",
                "add",
                "adds",
                "added",
                "coding",
                "define",
                "defines",
                "defining",
                "type",
                "types",
                "typed",
                "typing",
            }
        ),
        ("lines changed", "line changed"),
    ),
    "run": (
        ("execut", "install", "compil", "clone", "terminal"),
        frozenset({"run", "runs", "ran", "running", "command", "commands", "pip", "pytest", "test", "tests"}),
        (),
    ),
    "error": (
        ("error", "exception", "traceback", "fail", "crash", "conflict"),
        frozenset({"cannot", "unable", "invalid", "insufficient"}),
        ("not found",),
    ),
    "success": (("succe",), frozenset({"resolved", "passed", "works", "verify", "verifies", "verified"}), ()),
    "switch": (("switch", "return", "resum"), frozenset(), ("back to",)),
    "open": (
        (),
        frozenset({"open", "opens", "opened", "create", "creates", "created", "close", "closes", "closed"}),
        ("new file", "names it"),
    ),
    "idle": (
        ("mouse", "click", "scroll", "remain", "continu"),
        frozenset({"stay", "stays", "stayed"}),
        ("no specific action", "without any", "without performing", "without specific", "active on"),
    ),
    "copy": (("copy", "copies", "copied", "past"), frozenset({"cmdc", "cmdv"}), ("cmd+c", "cmd+v", "ctrl+c", "ctrl+v")),
    "save": ((), frozenset({"save", "saves", "saved", "cmds"}), ("cmd+s",)),
    "git": (
        ("branch", "merge", "rebase", "commit", "uncommitted"),
        frozenset({"git", "stage", "stages", "staged"}),
        (),
    ),
    "chat": (("deepseek", "kimi", "chatgpt"), frozenset({"chat"}), ()),
}
_WORD = re.compile(r"[a-z0-9]+")


def sentence_kinds(sentence: str) -> frozenset[str]:
    """Coarse kinds of a ProactiveBench-style sentence (an event can be several things at once)."""
    lower = sentence.lower()
    tokens = set(_WORD.findall(lower))
    kinds = []
    for kind, (prefixes, exact, phrases) in _KIND_RULES.items():
        if (
            (tokens & exact)
            or (prefixes and any(t.startswith(prefixes) for t in tokens))
            or any(p in lower for p in phrases)
        ):
            kinds.append(kind)
    return frozenset(kinds)


def event_kinds(event: EventBase) -> frozenset[str]:
    """Coarse kinds of one of our typed events: exact where the event says it, sentences otherwise."""
    kind = getattr(event, "kind", "observation")
    kinds: set[str] = set()
    if kind == "terminal.command":
        kinds.add("run")
        exit_code = getattr(event, "exit_code", None)
        if getattr(event, "failure", None) is not None or (exit_code is not None and exit_code != 0):
            kinds.add("error")
        elif exit_code == 0:
            kinds.add("success")
        if re.search(r"\bgit\b", getattr(event, "command_line", "")):
            kinds.add("git")
    elif kind == "diagnostics.changed":
        if getattr(event, "new_errors", 0):
            kinds.add("error")
        elif getattr(event, "errors", 0) == 0 and getattr(event, "resolved_errors", 0):
            kinds.add("success")
    elif kind == "syntax.error":
        kinds.update(("error", "edit"))
    elif kind == "document.edited":
        kinds.add("edit")
    elif kind in ("document.opened", "document.closed"):
        kinds.add("open")
    elif kind == "document.saved":
        kinds.add("save")
        if getattr(event, "errors", 0):
            kinds.add("error")
    elif kind.startswith("git."):
        kinds.add("git")
        if getattr(event, "conflicted", None):
            kinds.add("error")
        if kind == "git.branch":
            kinds.add("switch")
    else:
        return sentence_kinds(event.sentence())
    return frozenset(kinds)


# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Words.

_TOKEN = re.compile(r"[a-z0-9_]+|[\u4e00-\u9fff]")
_FILE = re.compile(
    r"[\w\-]+\.(?:py|js|ts|tsx|jsx|java|rb|go|rs|c|cc|cpp|h|hpp|php|swift|kt|md|txt|json|yaml|yml|toml|html|css|ipynb|sh|sql|csv)\b"
)
_QUOTED = re.compile(r"'([^']{2,200})'|\"([^\"]{2,200})\"|`([^`]{2,200})`")


def _stem(token: str) -> str:
    """A crude suffix stripper, enough to match 'searches'/'searched'/'search' and 'errors'/'error'."""
    if len(token) <= 3 or not token.isascii():
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("ing") and len(token) > 5:
        return token[:-3]
    if token.endswith("ed") and len(token) > 4:
        return token[:-2]
    if token.endswith("es") and token[:-2].endswith(("s", "x", "z", "ch", "sh")):
        return token[:-2]
    if token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def _stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in text.split())


STOPWORDS = frozenset(
    """a an the and or of to in on for with by at from as is are was were be been it its this that these
    those their his her them they he she we our you your i me my can could would will should may might
    do does did not no if then than so such into onto about over under up down out any some more most
    other another which what when where who how why all each also just only very via user users s t
    it's let me like need needs there here while after before again once""".split()
)
#: Words that make a task vague: a proposal made only of them rarely helps.
GENERIC = _stems(
    """help assist assistance offer provide suggest suggestion suggestions tip tips resource resources
    information info relevant related useful additional more further specific general guide guidance
    tool tools support option options way ways thing things task tasks work working current project
    continue better improve improvement efficient efficiently relevant"""
)
#: Words about the application or the interface, present in most steps: no evidence of a topic.
UI_WORDS = _stems(
    """visual studio code editor browser web chrome google bing page tab tabs file files mouse click
    clicked scroll scrolled type typed typing search searched result results application app window
    new open opened switch switched back link site website window terminal user"""
)
_VERBS = (
    "provide",
    "offer",
    "suggest",
    "help",
    "assist",
    "search",
    "find",
    "explain",
    "summarize",
    "create",
    "open",
    "continue",
    "check",
    "debug",
    "recommend",
    "write",
    "translate",
    "review",
    "compare",
    "share",
    "use",
    "guide",
    "organize",
    "set",
    "keep",
    "look",
    "test",
    "show",
    "fix",
    "generate",
    "give",
    "implement",
    "add",
    "install",
    "run",
    "remind",
    "take",
    "save",
)
_TOPICS: dict[str, frozenset[str]] = {
    "code": _stems("code snippet snippets example examples implementation implement function method syntax"),
    "fix": _stems("debug debugging error errors fix troubleshoot troubleshooting issue issues problem resolve bug"),
    "learn": _stems("tutorial tutorials documentation docs article articles link links learn course guide resources"),
    "summary": _stems("summary summarize summarise organize organise notes note outline structure report bibliography"),
    "search": _stems("search find look lookup query results"),
    "tooling": _stems("extension extensions shortcut shortcuts plugin tool tools workflow setup environment"),
    "break": _stems("break rest fatigue"),
}


def words(text: str) -> list[str]:
    """Lower-case word tokens (CJK characters one by one), stop words dropped, lightly stemmed."""
    return [
        _stem(t)
        for t in _TOKEN.findall(text.lower())
        if t not in STOPWORDS and len(t) > 1 or "\u4e00" <= t[:1] <= "\u9fff"
    ]


def quoted(text: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in _QUOTED.finditer(text)]


# --------------------------------------------------------------------------------------------
# Features.


def _norm_observation(obs: dict[str, Any]) -> tuple[str, Any]:
    event = obs.get("event", obs.get("Event", ""))
    time = obs.get("time", obs.get("Time"))
    return (event if isinstance(event, str) else str(event)), time


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass(frozen=True)
class _History:
    sentences: list[str]
    kinds: list[frozenset[str]]
    times: list[float | None]
    tokens: list[set[str]]


def _history(observations: Sequence[dict[str, Any]], events: Sequence[EventBase] | None) -> _History:
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
        kinds = [sentence_kinds(s) for s in sentences]
        times = [parse_time(t) for _, t in pairs]
    return _History(sentences, kinds, times, [set(words(s)) for s in sentences])


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
    h = _history(observations, events)
    n = len(h.sentences)
    silent = task is None or not task.strip()
    side = "s|" if silent else "p|"
    f: dict[str, float] = {side + "bias": 1.0}

    def put(name: str, value: float = 1.0) -> None:
        if value:
            f[side + name] = value

    if n == 0:
        put("empty")
    else:
        last = h.kinds[-1]
        for k in last:
            put("last:" + k)
        if not last:
            put("last:other")
        recent: set[str] = set()
        for ks in h.kinds[-4:-1]:
            recent |= ks
        for k in recent:
            put("recent:" + k)
        put("n_search", math.log1p(sum("search" in k for k in h.kinds)) / 2)
        put("n_error", math.log1p(sum("error" in k for k in h.kinds)) / 2)
        put("n_read", math.log1p(sum("read" in k for k in h.kinds)) / 2)
        # An error is open when nothing succeeded after it.
        open_error = False
        for ks in h.kinds:
            if "error" in ks:
                open_error = True
            elif "success" in ks:
                open_error = False
        put("error_open", float(open_error))
        put("error_recent", float(any("error" in k for k in h.kinds[-3:])))
        # Repetition: the same thing again (a retried search, a rerun that fails the same way).
        earlier = h.tokens[:-1]
        rep = max((_jaccard(h.tokens[-1], t) for t in earlier), default=0.0)
        put("repeat", rep)
        last_quotes = {q.lower() for q in quoted(h.sentences[-1])}
        put("repeat_quote", float(any(q.lower() in last_quotes for s in h.sentences[:-1] for q in quoted(s))))
        streak = 0
        for ks in reversed(h.kinds):
            if ks & last or (not ks and not last):
                streak += 1
            else:
                break
        put("streak", math.log(streak) / 2)
        idle = 0
        for ks in reversed(h.kinds):
            if ks and ks <= {"idle", "browse", "switch"}:
                idle += 1
            else:
                break
        put("idle_streak", math.log1p(idle) / 2)
        put("last_quote", float(bool(last_quotes)))
        # Something new: a fresh query, a file not seen before, words the history has not had.
        seen_quotes = {q.lower() for s in h.sentences[:-1] for q in quoted(s)}
        new_quotes = last_quotes - seen_quotes
        put("new_query", float(bool(new_quotes) and "search" in last))
        files = set(_FILE.findall(h.sentences[-1].lower()))
        put("new_file", float(bool(files) and not any(fl in s.lower() for fl in files for s in h.sentences[:-1])))
        sal_last = h.tokens[-1] - UI_WORDS - GENERIC
        seen: set[str] = set().union(*h.tokens[:-1]) if n > 1 else set()
        put("novelty", len(sal_last - seen) / len(sal_last) if sal_last and n > 1 else 0.0)
        # Position in the trace.
        put("pos", min(n, 20) / 20)
        put("first", float(n == 1))
        put("early", float(n <= 3))
        # Timing, relative to this user's own pace (synthetic traces move in minutes, real ones in seconds).
        gaps = [b - a for a, b in zip(h.times, h.times[1:]) if a is not None and b is not None and b >= a]
        last_gap = None
        if n >= 2 and h.times[-1] is not None and h.times[-2] is not None and h.times[-1] >= h.times[-2]:
            last_gap = h.times[-1] - h.times[-2]
        if last_gap is None or len(gaps) < 2:
            put("gap_unknown")
        else:
            typical = statistics.median(gaps[:-1]) or 1.0
            rel = max(-3.0, min(3.0, math.log((last_gap + 1.0) / (typical + 1.0))))
            put("gap_rel", rel / 3)
            put("gap_long", float(rel > math.log(3)))
            put("gap_short", float(rel < -math.log(3)))
        put("rejections", math.log1p(max(0, recent_rejections)))

    if silent:
        return f

    t_all = words(task or "")
    t = set(t_all)
    content = t - GENERIC
    f["t|len"] = math.log1p(len(t_all)) / 3
    text = (task or "").strip()
    lower = text.lower()
    if "?" in text:
        f["t|question"] = 1.0
    if re.match(r"(i |i'|would you|do you|if you|let me|shall i|can i)", lower):
        f["t|first_person"] = 1.0
    if re.search(r"\bthe user\b|\buser's\b", lower):
        f["t|the_user"] = 1.0
    if re.search(r"\byou\b|\byour\b", lower):
        f["t|you"] = 1.0
    first = re.findall(r"[a-z]+", lower)[:1]
    verb = first[0] if first and first[0] in _VERBS else "other"
    f["t|verb:" + verb] = 1.0
    f["t|generic"] = (len(t) - len(content)) / len(t) if t else 1.0
    f["t|vague"] = float(len(content) <= 1)
    for topic, vocab in _TOPICS.items():
        if t & vocab:
            f["t|topic:" + topic] = 1.0
    if n:
        # How the task meets the history: salient words only (not the app or UI words every step
        # has), weighted by how rare they are in this history, and where in the history it points.
        sal_task = content - UI_WORDS
        sal_events = [t_ - UI_WORDS - GENERIC for t_ in h.tokens]
        df: dict[str, int] = {}
        for toks in sal_events:
            for w in toks:
                df[w] = df.get(w, 0) + 1
        idf = {w: math.log((n + 1) / (c + 0.5)) for w, c in df.items()}
        norm = (
            math.fsum(idf.get(w, math.log(2 * (n + 1))) for w in sal_task) or 1.0
        )  # fsum: exact, so set order cannot change the score

        def ov(toks: set[str]) -> float:
            return math.fsum(idf[w] for w in sal_task & toks) / norm

        per_event = [ov(toks) for toks in sal_events]
        ov_last = per_event[-1]
        ov_recent = max(per_event[-3:])
        ov_old = max(per_event[:-3], default=0.0)
        recent_union: set[str] = set().union(*sal_events[-3:])
        all_union: set[str] = set().union(*sal_events)
        f["t|ov_last"] = ov_last
        f["t|ov_recent"] = ov_recent
        f["t|ov_recent_all"] = ov(recent_union)
        f["t|ov_any"] = ov(all_union)
        f["t|stale"] = max(0.0, ov_old - ov_recent)
        f["t|novel"] = len(sal_task - all_union) / max(1, len(sal_task))
        quotes: set[str] = set()
        for s in h.sentences[-3:]:
            for q in quoted(s):
                quotes.update(words(q))
        f["t|ov_quote"] = ov(quotes - UI_WORDS)
        best = max(per_event)
        if best <= 0:
            f["t|focus:none"] = 1.0
        else:
            age = n - 1 - max(i for i, v in enumerate(per_event) if v == best)
            f["t|focus:" + ("last" if age == 0 else "recent" if age <= 2 else "old")] = 1.0
        if not sal_task:
            f["t|no_salient"] = 1.0
        last = h.kinds[-1]
        if "t|topic:fix" in f and any("error" in k for k in h.kinds[-3:]):
            f["t|fix_after_error"] = 1.0
        if "t|topic:fix" in f and not any("error" in k for k in h.kinds):
            f["t|fix_without_error"] = 1.0
        if "t|topic:code" in f and "edit" in set().union(*h.kinds[-3:]):
            f["t|code_while_editing"] = 1.0
        if ("t|topic:learn" in f or "t|topic:search" in f) and ("search" in last or "read" in last):
            f["t|learn_while_searching"] = 1.0
        if "t|topic:summary" in f and ("read" in last or "browse" in last):
            f["t|summary_while_reading"] = 1.0
    else:
        f["t|novel"] = 1.0
    for w in t:
        f["w|" + w] = 1.0
    return {k: v for k, v in f.items() if v}


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --------------------------------------------------------------------------------------------
# The model.


@dataclass
class Gate:
    """A trained gate: ``score`` is the probability that the user accepts (or accepts the silence)."""

    weights: dict[str, float]
    bias: float = 0.0
    version: str = "untrained"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Gate:
        """Load a gate from JSON; without a path, the model packaged with proactive-ls."""
        data = json.loads(Path(path or PACKAGED_MODEL).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path or PACKAGED_MODEL}: not a {FORMAT} file")
        if data.get("features_version") != FEATURES_VERSION:
            raise ValueError(
                f"{path or PACKAGED_MODEL}: features version {data.get('features_version')} "
                f"does not match this proactive-ls ({FEATURES_VERSION}); retrain it"
            )
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            bias=float(data.get("bias", 0.0)),
            version=str(data["version"]),
            meta=dict(data.get("meta", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "features_version": FEATURES_VERSION,
            "meta": self.meta,
            "bias": self.bias,
            "weights": dict(sorted(self.weights.items())),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(path)

    def logit(self, feats: dict[str, float]) -> float:
        w = self.weights
        return self.bias + math.fsum(v * w.get(k, 0.0) for k, v in feats.items())  # order-independent

    def score(
        self,
        observations: list[dict[str, str]],
        task: str | None,
        events: list[EventBase] | None = None,
        *,
        recent_rejections: int = 0,
    ) -> float:
        """Probability that the user accepts ``task`` (or, for ``None``, silence) after this history.

        ``observations`` may use ``{"time","event"}`` or ``{"Time","Event"}`` keys; when our typed
        ``events`` are given too, their kinds and times are used instead of guesses from sentences.
        """
        return _sigmoid(self.logit(features(observations, task, events, recent_rejections)))

    def explain(self, observations: list[dict[str, str]], task: str | None, top: int = 6) -> list[tuple[str, float]]:
        """The features that moved this score most, for a reason a person can read."""
        feats = features(observations, task)
        parts = [(k, v * self.weights.get(k, 0.0)) for k, v in feats.items()]
        return sorted((p for p in parts if p[1]), key=lambda p: -abs(p[1]))[:top]


def threshold_for(eagerness: str, override: float | None) -> float:
    """The score a suggestion needs: the override if set, else the bar for this eagerness."""
    if override is not None:
        if not 0.0 <= override <= 1.0:
            raise ValueError(f"gate threshold must be within [0, 1], not {override}")
        return float(override)
    try:
        return EAGERNESS_THRESHOLDS[eagerness]
    except KeyError:
        raise ValueError(
            f"unknown eagerness {eagerness!r}; expected one of {', '.join(EAGERNESS_THRESHOLDS)}"
        ) from None


class GateJudge:
    """A judge that accepts a suggestion when the gate's score reaches the eagerness bar.

    It remembers the rejections it is told about (:meth:`note_outcome`) for the
    ``rejections`` feature; the packaged model gives that feature no weight (ProactiveBench has
    no such signal), a model retrained on the user's feedback log can.
    """

    name = "gate"
    rejection_window_s = 3600.0

    def __init__(self, gate: Gate | None = None, eagerness: str = "normal", threshold: float | None = None) -> None:
        self.gate = gate if gate is not None else Gate.load()
        self.eagerness = eagerness
        self.threshold = threshold_for(eagerness, threshold)
        self._bar_label = "override" if threshold is not None else eagerness
        self._rejections: list[float] = []

    def note_outcome(self, outcome: str, at: float) -> None:
        """Tell the judge what became of a proposal (only rejections are kept, for an hour)."""
        if outcome == "rejected":
            self._rejections.append(at)

    def recent_rejections(self, now: float) -> int:
        self._rejections = [t for t in self._rejections if now - t <= self.rejection_window_s]
        return len(self._rejections)

    def score(self, ctx: ProposalContext, task: str | None) -> float:
        return self.gate.score(
            ctx.observations(), task, list(ctx.history), recent_rejections=self.recent_rejections(ctx.now)
        )

    async def judge(self, ctx: ProposalContext, suggestion: Suggestion) -> Verdict:
        s = self.score(ctx, suggestion.task)
        accept = s >= self.threshold
        sign = ">=" if accept else "<"
        return Verdict(
            accept=accept,
            score=s,
            reason=f"gate score {s:.2f} {sign} {self.threshold:.2f} ({self._bar_label})",
            judge=self.name,
        )

    async def aclose(self) -> None:
        return None
