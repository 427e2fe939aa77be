"""A test or build command failed in the terminal: offer to open where it failed."""

from __future__ import annotations

from pathlib import Path

from proactive_ls.events import TerminalCommand
from proactive_ls.proposals import Anchor, OpenLocation, Range, ShowMarkdown, Suggestion
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules import Rule
from proactive_ls.sensing.paths import path_to_uri
from proactive_ls.sensing.terminal import UNPARSED
from proactive_ls.sensing.terminal.locate import definition_of_test, locate, symbols_of
from proactive_ls.sensing.terminal.text import clip


def _short(title: str) -> str:
    """'tests/test_io.py::TestX::test_y' -> 'TestX::test_y': the file is named in the task already."""
    head, sep, tail = title.partition("::")
    return tail if sep and ("/" in head or head.endswith(".py")) else title


def failed_command(ctx: ProposalContext) -> Suggestion | None:
    latest = next((e for e in reversed(ctx.new_events) if isinstance(e, TerminalCommand)), None)
    if latest is None or latest.failure is None or latest.exit_code == 0:
        return None
    failure = latest.failure
    roots = [Path(r) for r in ctx.workspace_roots]
    symbols = symbols_of(failure.title)
    for location in ([failure.location] if failure.location else []) + failure.locations:
        found = locate(location.path, latest.cwd, roots, latest.command_line, symbols)
        if found is None:
            continue
        line = location.line - 1
        column = (location.column or 1) - 1
        uri = path_to_uri(found)
        where = f"{location.path}:{location.line}"
        name = _short(failure.title)
        more = f" ({failure.failed} failures)" if failure.failed > 1 else ""
        return Suggestion(
            task=f"Open the failure of `{name}` at {where}",
            message=f"'{latest.command_line}' failed{more}: {failure.title}. Open {where}?",
            purpose="The user ran a command that failed and will want to see where.",
            anchor=Anchor(uri=uri, range=Range.line(line, column)),
            operation=OpenLocation(uri=uri, range=Range.line(line, column)),
            key=f"terminal:{failure.tool}:{failure.title}:{where}",
        )
    # Only a test's name survived (its traceback scrolled out of the tail): open its definition.
    if failure.location is None and (
        definition := definition_of_test(failure.title, latest.cwd, roots, latest.command_line)
    ):
        path, number = definition
        uri = path_to_uri(path)
        where = f"{failure.title.split('::')[0]}:{number}"
        more = f" ({failure.failed} failures)" if failure.failed > 1 else ""
        return Suggestion(
            task=f"Open the failing test `{_short(failure.title)}` at {where}",
            message=f"'{latest.command_line}' failed{more}: {failure.title}. Open the test at {where}?",
            purpose="The user ran tests that failed; the output no longer shows where, but names the test.",
            anchor=Anchor(uri=uri, range=Range.line(number - 1, 0)),
            operation=OpenLocation(uri=uri, range=Range.line(number - 1, 0)),
            key=f"terminal:{failure.tool}:{failure.title}:{where}",
        )
    # The tool named no file we can open: show what it said instead.
    tail = latest.output_tail.strip()
    if failure.tool == UNPARSED:  # no parser understood it; the user asked for these (a setting)
        last = "\n".join(tail.splitlines()[-40:])
        return Suggestion(
            task=f"Look at the last lines of the failed command `{clip(latest.command_line, 60)}`",
            message=f"'{latest.command_line}' failed ({failure.title}). Show its last lines?",
            purpose="The user ran a command that failed; its output is in no format we read.",
            operation=ShowMarkdown(
                title=f"{clip(latest.command_line, 60)}: {failure.title}",
                markdown=f"# The command failed ({failure.title})\n\n```\n$ {latest.command_line}\n{last}\n```\n",
            ),
            key=f"terminal:{UNPARSED}:{latest.command_line}",
        )
    return Suggestion(
        task=f"Look at the failure of `{failure.title}`",
        message=f"'{latest.command_line}' failed: {failure.title}. Show the output?",
        purpose="The user ran a command that failed.",
        operation=ShowMarkdown(
            title=f"{failure.tool}: {failure.title}",
            markdown=f"# {failure.summary}\n\n```\n$ {latest.command_line}\n{tail[-8000:]}\n```\n",
        ),
        key=f"terminal:{failure.tool}:{failure.title}",
    )


RULES: list[Rule] = [failed_command]
