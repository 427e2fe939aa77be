"""High-entropy tokens right after a secret-like name: ``--token Xy9...``, ``"authKey": "..."``,
``api_key Xy9...`` in a log line, the shapes no provider rule and no assignment rule knows.

A token counts only when the name before it is secret-like (``names``) and the token looks random:
20+ characters with letters and digits and a Shannon entropy of at least :data:`THRESHOLD` bits per
character. The threshold sits above what hexadecimal can reach (at most 4.0 bits), so commit ids,
hashes and UUIDs next to such a name are left alone; tests/test_redaction_corpus.py measures it on
the look-alikes.
"""

from __future__ import annotations

import re

from proactive_ls.sensing.redaction.names import secret_kind_of_name
from proactive_ls.sensing.redaction.ruleset import shannon_entropy

THRESHOLD = 4.2
MIN_LENGTH = 20

_NEEDLES = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie", "sid", "session")
# Anchored on a needle (the rest of the name is found by scanning back), so the regex is not tried
# at every position of a long text.
_NEAR_NAME = re.compile(
    r"(?i:pass|pwd|secret|token|key|auth|cred|cookie|sid|session)[A-Za-z0-9_.\-]{0,30}[\"']?\s{0,3}"
    r"(?::|=|=>|\s)\s{0,3}[\"'`]?([A-Za-z0-9+/_\-.~]{20,500}={0,2})(?![A-Za-z0-9+/_\-.~=])"
)


def looks_random(value: str) -> bool:
    """Long enough, letters and digits both, and entropy at or above the threshold."""
    return (
        len(value) >= MIN_LENGTH
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and shannon_entropy(value) >= THRESHOLD
    )


def redact_high_entropy(text: str, lowered: str) -> str:
    """``text`` with random-looking tokens after secret-like names replaced by ``[REDACTED:entropy]``."""
    if not any(n in lowered for n in _NEEDLES):
        return text

    def one(m: re.Match[str]) -> str:
        value = m.group(1)
        if "REDACTED" in value or not looks_random(value):
            return m.group(0)
        start = m.start()
        while start > 0 and m.start() - start < 60 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
            start -= 1
        name = re.split(r"[\"'\s:=]", text[start : m.start(1)], maxsplit=1)[0]
        if secret_kind_of_name(name.lstrip("-.")) is None:
            return m.group(0)
        s = m.start(1) - m.start()
        return m.group(0)[:s] + "[REDACTED:entropy]" + m.group(0)[s + len(value) :]

    return _NEAR_NAME.sub(one, text)


__all__ = ["MIN_LENGTH", "THRESHOLD", "looks_random", "redact_high_entropy"]
