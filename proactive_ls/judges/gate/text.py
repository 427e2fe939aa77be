"""Words as the gate reads them: tokens, a crude stemmer, and the vocabularies its features test.

One place for the text handling, because the history, the task and the features must all cut
and stem words the same way, or a task would never overlap the events it speaks of.
"""

from __future__ import annotations

import functools
import re

_TOKEN = re.compile(r"[a-z0-9_]+|[\u4e00-\u9fff]")
#: A file name with a known extension, in a lower-cased sentence.
FILE_NAME = re.compile(
    r"[\w\-]+\.(?:py|js|ts|tsx|jsx|java|rb|go|rs|c|cc|cpp|h|hpp|php|swift|kt|md|txt|json|yaml|yml|toml|html|css|ipynb|sh|sql|csv)\b"
)
_QUOTED = re.compile(r"'([^']{2,200})'|\"([^\"]{2,200})\"|`([^`]{2,200})`")


def stem(token: str) -> str:
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


def stems(text: str) -> frozenset[str]:
    """The stems of a whitespace-separated word list (for writing vocabularies)."""
    return frozenset(stem(w) for w in text.split())


STOPWORDS = frozenset(
    """a an the and or of to in on for with by at from as is are was were be been it its this that these
    those their his her them they he she we our you your i me my can could would will should may might
    do does did not no if then than so such into onto about over under up down out any some more most
    other another which what when where who how why all each also just only very via user users s t
    it's let me like need needs there here while after before again once""".split()
)
#: Words that make a task vague: a proposal made only of them rarely helps.
GENERIC = stems(
    """help assist assistance offer provide suggest suggestion suggestions tip tips resource resources
    information info relevant related useful additional more further specific general guide guidance
    tool tools support option options way ways thing things task tasks work working current project
    continue better improve improvement efficient efficiently relevant"""
)
#: Words about the application or the interface, present in most steps: no evidence of a topic.
UI_WORDS = stems(
    """visual studio code editor browser web chrome google bing page tab tabs file files mouse click
    clicked scroll scrolled type typed typing search searched result results application app window
    new open opened switch switched back link site website window terminal user"""
)
#: The verbs a task may open with (anything else is "other").
TASK_VERBS = (
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
#: What a task is about, by the words it uses.
TASK_TOPICS: dict[str, frozenset[str]] = {
    "code": stems("code snippet snippets example examples implementation implement function method syntax"),
    "fix": stems("debug debugging error errors fix troubleshoot troubleshooting issue issues problem resolve bug"),
    "learn": stems("tutorial tutorials documentation docs article articles link links learn course guide resources"),
    "summary": stems("summary summarize summarise organize organise notes note outline structure report bibliography"),
    "search": stems("search find look lookup query results"),
    "tooling": stems("extension extensions shortcut shortcuts plugin tool tools workflow setup environment"),
    "break": stems("break rest fatigue"),
}


def words(text: str) -> list[str]:
    """Lower-case word tokens (CJK characters one by one), stop words dropped, lightly stemmed."""
    return [
        stem(t)
        for t in _TOKEN.findall(text.lower())
        if t not in STOPWORDS and len(t) > 1 or "\u4e00" <= t[:1] <= "\u9fff"
    ]


def quoted(text: str) -> list[str]:
    """The strings quoted in ``text`` ('...', "..." or `...`): search queries, file and test names."""
    return list(_quoted(text))


@functools.lru_cache(maxsize=4096)
def _quoted(text: str) -> tuple[str, ...]:
    # Cached: each step's sentence is searched again at every decision while it is recent.
    return tuple(next(g for g in m.groups() if g) for m in _QUOTED.finditer(text))
