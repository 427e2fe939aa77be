"""Understand what a failed terminal command printed: which tool, what failed, and where.

The editor forwards ``{commandLine, cwd, exitCode, output}`` when a command ends; the output is a
bounded tail, possibly coloured. :func:`parse_failure` turns it into a :class:`Failure` for the
``TerminalCommand`` event, or None when nothing failed or no parser understands the output (the
event then just says "failed with exit code N").
"""

from __future__ import annotations

import logging

from proactive_ls.events import Failure
from proactive_ls.sensing.terminal import registry
from proactive_ls.sensing.terminal.text import strip_ansi

__all__ = ["UNPARSED", "parse_failure", "strip_ansi"]

_log = logging.getLogger(__name__)


UNPARSED = "command"
"""The tool of the Failure given to a failed command that no parser understood (``unparsed``)."""


def parse_failure(
    command_line: str, output: str, exit_code: int | None, cwd: str | None = None, *, unparsed: bool = False
) -> Failure | None:
    """The failure that ``output`` reports, or None. Never raises: a parser bug must not lose the event.

    With ``unparsed`` (the ``showUnparsedFailures`` setting), a command that failed with output no
    parser understands still gets a Failure, without a location: "it failed; show the last lines".
    """
    try:
        failure = registry.parse(command_line, output, exit_code, cwd)
    except Exception:  # the event is still worth keeping without a parsed failure
        _log.exception("terminal output parser failed on %r", command_line[:200])
        failure = None
    if failure is None and unparsed and exit_code not in (None, 0) and output.strip():
        return Failure(
            tool=UNPARSED,
            title=f"exit code {exit_code}",
            summary=f"it failed with exit code {exit_code}",
            failed=1,
        )
    return failure
