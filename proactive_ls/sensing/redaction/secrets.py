"""Secret redaction of a text: the shape patterns first, then the command-line shapes and the
assignment rules, then gitleaks' rule set (``ruleset``) for what they missed, and last high-entropy
tokens after secret-like names (``entropy``).

The order matters and lives here only: an assignment whose value a shape pattern already replaced is
left as it is (the more precise kind wins).
"""

from __future__ import annotations

import functools
import re

from proactive_ls.sensing.redaction.assignments import redact_assignments
from proactive_ls.sensing.redaction.commands import redact_commands
from proactive_ls.sensing.redaction.entropy import redact_high_entropy
from proactive_ls.sensing.redaction.ruleset import vendored
from proactive_ls.sensing.redaction.shapes import PATTERNS


def redact_text(text: str) -> str:
    """Replace every secret found in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return text
    if len(text) <= _CACHED_LENGTH:
        return _redact_cached(text)
    if len(text) <= _CACHED_LONG:
        return _redact_cached_long(text)
    return _redact(text)


# Events repeat their strings (a path, a command, a definition label at every burst): the answer
# for a short text is kept. A pure function of the text, so the cache cannot change an answer.
_CACHED_LENGTH = 512


@functools.lru_cache(maxsize=8192)
def _redact_cached(text: str) -> str:
    return _redact(text)


# A terminal output (its tail is at most 4000 characters) comes back when a command is run again
# or an event is rendered once more: a few hundred of those are kept too (at most ~2 MB).
_CACHED_LONG = 8192


@functools.lru_cache(maxsize=256)
def _redact_cached_long(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    lowered = text.lower()
    for pattern in PATTERNS:
        if pattern.wanted(text, lowered):
            text = pattern.sub(text)
    text = redact_assignments(redact_commands(text))
    text = vendored().redact(text, _without_markers(text.lower()))
    return redact_high_entropy(text, _without_markers(text.lower()))


_MARKER = re.compile(r"\[redacted:[a-z0-9_\-]{1,80}\]")


def _without_markers(lowered: str) -> str:
    """``lowered`` with each ``[REDACTED:kind]`` blanked (same length): the words in a marker
    (``slack_token``) are not keywords of the text, and must not wake the rules that look for them."""
    if "[redacted:" not in lowered:
        return lowered
    return _MARKER.sub(lambda m: " " * len(m.group(0)), lowered)
