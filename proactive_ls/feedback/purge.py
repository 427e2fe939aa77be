"""``proactive-ls feedback purge``: the command line over :func:`~proactive_ls.feedback.lifecycle.purge`."""

from __future__ import annotations

import sys
from pathlib import Path

from proactive_ls.config import default_feedback_log
from proactive_ls.feedback.export import ExportError, parse_when
from proactive_ls.feedback.lifecycle import purge, segments


def main_purge(feedback_log: Path | None, before: str | None, everything: bool) -> int:
    """``proactive-ls feedback purge``: one clear line for a bad input, a summary otherwise."""
    path = Path(feedback_log) if feedback_log else default_feedback_log()
    if everything == (before is not None):
        print("proactive-ls feedback purge: give either --before DATE or --all", file=sys.stderr)
        return 2
    try:
        cutoff = parse_when(before, "--before")
    except ExportError as exc:
        print(f"proactive-ls feedback purge: {exc}", file=sys.stderr)
        return 2
    if not segments(path):
        print(f"proactive-ls feedback purge: no feedback log at {path}", file=sys.stderr)
        return 2
    try:
        result = purge(path, None if everything else cutoff)
    except OSError as exc:
        print(f"proactive-ls feedback purge: {exc}", file=sys.stderr)
        return 1
    print(f"purged {result.removed} records, kept {result.kept} ({path})")
    return 0
