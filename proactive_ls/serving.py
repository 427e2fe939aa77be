"""Starting the server: its logging, and stdio or TCP. Shared by the fast ``serve`` path
(:mod:`proactive_ls.launch`) and the full command line (:mod:`proactive_ls.cli`); imports neither."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LEVELS = ("debug", "info", "warning", "error")


def setup_logging(level: str, log_file: Path | None) -> None:
    """Logs go to stderr or a file: stdout belongs to the LSP stream."""
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def serve(
    tcp: tuple[str, int] | None,
    log_file: Path | None,
    log_level: str,
    feedback_log: Path | None,
    record: Path | None,
    listen: Callable[[Any], None] | None = None,
) -> None:
    """Speak LSP over stdio, or through ``listen(server)`` (``lsp/transport.py``: TCP with a token, or
    a Unix socket)."""
    setup_logging(log_level, log_file)
    from proactive_ls.local_settings import local_overrides
    from proactive_ls.lsp.server import create_server

    server = create_server(local_overrides(feedback_log))
    recorder = None
    if record is not None:
        from proactive_ls.lsp.recorder import attach_recorder

        recorder = attach_recorder(server, record)
    try:
        if listen is not None:
            listen(server)
        elif tcp is not None:
            raise ValueError("TCP needs its token and address checks: start it with `proactive-ls serve --tcp`")
        else:
            server.start_io()
    finally:
        if recorder is not None:
            recorder.close()  # writes an edit burst still held


__all__ = ["LEVELS", "serve", "setup_logging"]
