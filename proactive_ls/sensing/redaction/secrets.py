"""Secret redaction of a text: the shape patterns first, then the assignment rules.

The order matters and lives here only: an assignment whose value a shape pattern already replaced is
left as it is (the more precise kind wins).
"""

from __future__ import annotations

import functools

from proactive_ls.sensing.redaction.assignments import redact_assignments
from proactive_ls.sensing.redaction.commands import redact_commands
from proactive_ls.sensing.redaction.shapes import PATTERNS


def redact_text(text: str) -> str:
    """Replace every secret found in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return text
    if len(text) <= _CACHED_LENGTH:
        return _redact_cached(text)
    return _redact(text)


# Events repeat their strings (a path, a command, a definition label at every burst): the answer
# for a short text is kept. A pure function of the text, so the cache cannot change an answer.
_CACHED_LENGTH = 512


@functools.lru_cache(maxsize=8192)
def _redact_cached(text: str) -> str:
    return _redact(text)


def _redact(text: str) -> str:
    lowered = text.lower()
    for pattern in PATTERNS:
        if pattern.wanted(text, lowered):
            text = pattern.sub(text)
    return redact_assignments(redact_commands(text))
