"""Turn raw terminal bytes-as-text into clean lines that the parsers can match line by line.

Terminals carry colour codes, cursor moves, spinners and CRLF line ends; the parsers should never
see them. Everything here is linear in the size of the input, and the input is bounded first, so a
huge or hostile output costs at most a fixed amount of work.
"""

from __future__ import annotations

import re

MAX_CHARS = 256 * 1024
"""Only the tail of the output is parsed: the failure summary of every tool is at the end."""

MAX_LINE = 4096
"""Longer lines are cut, which keeps every per-line regex cheap whatever the line holds."""

# One alternation of flat character classes: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST),
# charset designations (ESC ( B, which terminfo's sgr0 emits), other two-byte escapes, and the
# 8-bit CSI. No nested quantifiers, so matching is linear.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[()*+][0-9A-Za-z]"
    r"|\x1b[@-Z\\-_=>78]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, cursor moves, titles) and keep the visible text."""
    return _ANSI.sub("", text)


def prepare_lines(output: str) -> list[str]:
    """The last MAX_CHARS of output as visible lines, without colours, CRs or trailing blanks.

    A carriage return inside a line means the terminal rewrote it (progress bars, spinners,
    "collecting ... \\rcollected 12 items"): only what was written last is visible.
    """
    tail = output[-MAX_CHARS:]
    clean = strip_ansi(tail).replace("\r\n", "\n")
    lines: list[str] = []
    for raw in clean.split("\n"):
        if "\r" in raw:
            parts = [p for p in raw.split("\r") if p.strip()]
            raw = parts[-1] if parts else ""
        lines.append(raw[:MAX_LINE].rstrip())
    return lines


def clip(text: str, limit: int = 119) -> str:
    """One line, at most ``limit`` characters, ending in an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
