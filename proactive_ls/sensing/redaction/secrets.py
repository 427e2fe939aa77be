"""Secret redaction of a text: the shape patterns first, then the assignment rules.

The order matters and lives here only: an assignment whose value a shape pattern already replaced is
left as it is (the more precise kind wins).
"""

from __future__ import annotations

from proactive_ls.sensing.redaction.assignments import redact_assignments
from proactive_ls.sensing.redaction.shapes import PATTERNS


def redact_text(text: str) -> str:
    """Replace every secret found in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return text
    lowered = text.lower()
    for pattern in PATTERNS:
        if pattern.wanted(text, lowered):
            text = pattern.sub(text)
    return redact_assignments(text)
