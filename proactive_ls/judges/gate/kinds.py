"""Events as coarse kinds (search, read, edit, run, error, ...), the gate's view of what the user did.

A kind is the unit most history features count and compare. Our typed events say exactly what
they are; ProactiveBench's events are sentences, read here by word rules.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proactive_ls.events import EventBase

#: Every kind there is (the rules below give each its words).
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
