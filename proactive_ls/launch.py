"""The ``proactive-ls`` entry point: ``serve`` without the command-line framework.

An editor starts ``proactive-ls serve`` at every window; typer and rich cost more to import than
the server's first answer needs. Plain ``serve`` arguments are read here with argparse; anything
else (other commands, ``--help``, an argument this parser does not know) goes to the full
command line in :mod:`proactive_ls.cli`, which also gives the errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proactive_ls.serving import LEVELS, serve


class _NotPlain(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _NotPlain(message)


def _plain_serve(argv: list[str]) -> argparse.Namespace | None:
    """The options of a plain ``serve`` command line, or None for anything else."""
    if not argv or argv[0] != "serve":
        return None
    parser = _Parser(add_help=False)
    parser.add_argument("--tcp")
    parser.add_argument("--log-file", type=Path)
    parser.add_argument("--log-level", type=str.lower, choices=LEVELS, default="warning")
    parser.add_argument("--feedback-log", type=Path)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--stdio", action="store_true")
    try:
        args = parser.parse_args(argv[1:])
    except _NotPlain:
        return None
    if args.tcp is not None:
        return None  # the full command line checks the address and sets up the token
    return args


def main() -> None:
    args = _plain_serve(sys.argv[1:])
    if args is None:
        from proactive_ls.cli import main as cli_main

        cli_main()
        return
    serve(None, args.log_file, args.log_level, args.feedback_log, args.record)


__all__ = ["main"]
