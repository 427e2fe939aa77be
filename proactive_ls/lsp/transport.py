"""``serve --tcp`` and ``serve --socket``, safe by default.

A TCP port on localhost is reachable by every local process and by any web page (a browser sends
blind POSTs to localhost). So the server listens on loopback only unless ``--allow-remote``; the
first message of a connection must be ``initialize`` carrying ``initializationOptions.token``, the
secret written to a 0600 file at start (a Unix socket is protected by its 0600 mode instead); and a
session has one connection: a second one is refused, never handed the first one's session.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from pygls.io_ import run_async
from pygls.server import JsonRPCServer

log = logging.getLogger(__name__)

TOKEN_OPTION = "token"


class AddressError(ValueError):
    """An address that cannot be listened on, with a message fit for the command line."""


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[IPv6]:PORT`` or ``:PORT`` (loopback) as (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise AddressError(f"expected [IPv6]:PORT, got {text!r}")
        port_text = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise AddressError(f"{host!r} is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep:
            raise AddressError(f"expected HOST:PORT, e.g. 127.0.0.1:2087, got {text!r}")
        if ":" in host:
            raise AddressError(f"write an IPv6 address in brackets, e.g. [::1]:2087, got {text!r}")
        host = host or "127.0.0.1"
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise AddressError(f"the port must be a number from 0 to 65535, got {port_text!r}")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_host(host: str, allow_remote: bool) -> None:
    if not allow_remote and not is_loopback(host):
        raise AddressError(
            f"{host} is not a loopback address: anyone who can reach it could drive your session. "
            "Use 127.0.0.1 or [::1], or pass --allow-remote if you really mean it"
        )


def write_token(path: Path) -> str:
    """A fresh secret in a file only the user can read (0600, created that way, not chmod-ed later)."""
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


class Gate:
    """One connection per session, and (on TCP) the token before anything else."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.connected = False
        self.authenticated = token is None

    def admit(self, message: Any) -> bool:
        """Whether ``message`` may reach the server; strips the token from ``initialize``."""
        if self.authenticated:
            return True
        if getattr(message, "method", None) != "initialize":
            return False
        options = getattr(getattr(message, "params", None), "initialization_options", None)
        if not isinstance(options, dict):
            return False
        given = options.pop(TOKEN_OPTION, None)
        if not isinstance(given, str) or not secrets.compare_digest(given, self.token or ""):
            return False
        self.authenticated = True
        return True


def serve(
    server: JsonRPCServer,
    *,
    host: str | None = None,
    port: int | None = None,
    socket_path: Path | None = None,
    token: str | None = None,
) -> None:
    """Serve one LSP connection over TCP (``host``/``port``) or a Unix socket, then stop."""
    gate = Gate(token)
    protocol = server.protocol
    original = protocol.handle_message
    stop = asyncio.Event()

    def handle(message: Any) -> None:
        if gate.admit(message):
            original(message)
            return
        log.warning("refused a connection that did not start with initialize and the right token")
        writer = getattr(protocol, "writer", None)
        if writer is not None:
            writer.close()

    protocol.handle_message = handle  # type: ignore[method-assign]

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if gate.connected:
            log.warning("refused a second connection: this session already has its client")
            writer.close()
            return
        gate.connected = True
        protocol.set_writer(writer)
        try:
            await run_async(
                stop_event=server._stop_event,  # type: ignore[arg-type]
                reader=reader,
                protocol=protocol,
                logger=log,
                error_handler=server.report_server_error,
            )
        finally:
            stop.set()

    async def main() -> None:
        import threading

        server._stop_event = threading.Event()
        if socket_path is not None:
            socket_path.unlink(missing_ok=True)
            old = os.umask(0o177)
            try:
                listener = await asyncio.start_unix_server(connection, str(socket_path))
            finally:
                os.umask(old)
            os.chmod(socket_path, 0o600)
        else:
            listener = await asyncio.start_server(connection, host, port)
        where = ", ".join(str(s.getsockname()) for s in listener.sockets)
        log.warning("proactive-ls listening on %s", where)
        async with listener:
            await stop.wait()
        if socket_path is not None:
            socket_path.unlink(missing_ok=True)

    asyncio.run(main())
    server.shutdown()  # type: ignore[no-untyped-call]
