"""The server's end: a Unix socket only the user can open, one JSON line per finished command.

Whatever arrives is checked before it is used: a bounded line, valid JSON, a valid
:class:`~proactive_ls.shell_hook.wire.ShellReport`, a peer of the same user, a cwd inside this
server's workspace. Anything else is dropped (and logged at debug level); the server keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from proactive_ls.inputs import TerminalInput
from proactive_ls.shell_hook import paths
from proactive_ls.shell_hook.wire import MAX_LINE_BYTES, ShellReport

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 10.0
MAX_LINES_PER_CONNECTION = 64
MAX_CONNECTIONS = 16


def _inside(cwd: Path, roots: list[Path]) -> bool:
    return any(cwd == root or root in cwd.parents for root in roots)


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    """The uid of the process at the other end (Linux); None where the platform cannot tell."""
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return None
    try:
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    except OSError:
        return None
    return int(uid)


class ShellHookListener:
    """Listens on ``<socket dir>/<pid>.sock`` and hands each command of the workspace to `on_input`."""

    def __init__(
        self, roots: list[Path], on_input: Callable[[TerminalInput], None], directory: Path | None = None
    ) -> None:
        self.roots = [r.resolve() for r in roots]
        self.on_input = on_input
        self.directory = directory
        self.path: Path | None = None
        self.accepted = 0
        self.dropped = 0
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> Path | None:
        """Bind the socket (0600); None when there is no safe place for it (logged, not fatal)."""
        try:
            directory = self.directory or paths.socket_dir()
            paths.check_private(directory)
            path = paths.socket_path(directory=directory)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # a stale socket of a process that had our pid
            self._server = await asyncio.start_unix_server(self._serve, path=str(path), limit=MAX_LINE_BYTES)
            os.chmod(path, 0o600)
        except (OSError, paths.UnsafeSocketDir) as exc:
            log.warning("no shell-hook socket: %s", exc)
            return None
        self.path = path
        log.info("shell-hook socket at %s", path)
        return path

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            uid = _peer_uid(writer)
            if len(self._handlers) > MAX_CONNECTIONS or (uid is not None and uid != os.getuid()):
                self.dropped += 1
                return
            for _ in range(MAX_LINES_PER_CONNECTION):
                try:
                    line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT_S)
                except (ValueError, asyncio.LimitOverrunError, TimeoutError, OSError):
                    self.dropped += 1  # too long, too slow or broken: drop the connection
                    return
                if not line:
                    return
                self.handle_line(line)
        finally:
            self._handlers.discard(task)
            writer.close()

    def handle_line(self, line: bytes) -> bool:
        """One line from a shell: True when it became an input."""
        if not line.strip():
            return False
        try:
            report = ShellReport.model_validate(json.loads(line))
        except (ValueError, ValidationError, RecursionError) as exc:
            self.dropped += 1
            log.debug("dropped a malformed shell-hook line: %s", exc)
            return False
        try:
            cwd = Path(report.cwd).resolve()
        except (OSError, RuntimeError):
            cwd = Path(report.cwd)
        if not _inside(cwd, self.roots):
            return False  # another workspace's command; its own server takes it
        item = TerminalInput(
            command_line=report.command_line,
            cwd=report.cwd,
            exit_code=report.exit_code,
            output=report.output,
            duration_ms=report.duration_ms,
        )
        try:
            self.on_input(item)
        except ValueError as exc:
            self.dropped += 1
            log.warning("the session refused a shell-hook command: %s", exc)
            return False
        self.accepted += 1
        return True
