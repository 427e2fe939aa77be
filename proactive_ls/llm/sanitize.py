"""Model output is data: what a model writes is shown to the user, logged and exported, so it is
bounded by the client (whatever the server returns) and cleaned of what would act or deceive.

- terminal control and escape sequences (ANSI CSI/OSC, other C0/C1 controls) are removed: a
  notification, a log line or a terminal that prints the export must not be driven by them;
- bidirectional overrides and isolates are removed (text that reads differently than it is);
- ``command:`` links (VS Code runs them when clicked in trusted markdown) become plain text, as do
  links whose target is not ``http(s)``/``file`` within the text;
- each field is cut to its bound.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?[^)]*\)")
_BARE_COMMAND = re.compile(r"(?i)\bcommand:")
_SAFE_SCHEMES = ("http://", "https://", "#")

#: Bounds on what a model may say, in characters (the schema asks for less; this is enforced).
TASK_CHARS = 300
MESSAGE_CHARS = 2_000
THOUGHTS_CHARS = 4_000
MARKDOWN_CHARS = 64 * 1024


def clean(text: str, limit: int) -> str:
    """``text`` without control sequences, with unsafe links as text, cut to ``limit`` characters."""
    text = _ANSI.sub("", text)
    text = _CONTROLS.sub("", text)
    text = _LINK.sub(_link_as_text, text)
    text = _BARE_COMMAND.sub("command\u200b:", text)  # no longer a scheme a renderer follows
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences, control characters (tab and newlines stay) and
    bidi overrides: for code a model writes, which is applied as it is shown."""
    return _CONTROLS.sub("", _ANSI.sub("", text))


def _link_as_text(m: re.Match[str]) -> str:
    label, target = m.group(1), m.group(2)
    if target.lower().startswith(_SAFE_SCHEMES):
        return m.group(0)
    shown = target.replace(":", "\u200b:", 1)
    return f"{label} ({shown})" if target else label


__all__ = ["MARKDOWN_CHARS", "MESSAGE_CHARS", "TASK_CHARS", "THOUGHTS_CHARS", "clean", "strip_controls"]
