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
import json
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


#: How long a new connection has to prove itself before it is closed.
AUTH_TIMEOUT_S = 10.0
#: The largest first message (an ``initialize``) read before the token is checked.
MAX_FIRST_MESSAGE = 1 << 20


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The body of one ``Content-Length`` frame, or None for anything else (an HTTP request, garbage, too big)."""
    length: int | None = None
    header_bytes = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a header line past the reader's limit
            return None
        header_bytes += len(line)
        if not line or header_bytes > 4096:
            return None
        if line == b"\r\n":
            break
        name, sep, value = line.partition(b":")
        if not sep:
            return None
        if name.strip().lower() == b"content-length":
            length = int(value.strip()) if value.strip().isdigit() else None
    if length is None or length > MAX_FIRST_MESSAGE:
        return None
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None


def admitted(body: bytes, token: str) -> dict[str, Any] | None:
    """The first message if it is ``initialize`` with the right token (which is removed from it), else None."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    if not isinstance(options, dict):
        return None
    given = options.pop(TOKEN_OPTION, None)
    if not isinstance(given, str) or not secrets.compare_digest(given.encode(), token.encode()):
        return None
    return message


def serve(
    server: JsonRPCServer,
    *,
    host: str | None = None,
    port: int | None = None,
    socket_path: Path | None = None,
    token: str | None = None,
) -> None:
    """Serve one LSP connection over TCP (``host``/``port``) or a Unix socket, then stop.

    A connection takes the session only once its first message proved it (the token on TCP): one
    that fails, stalls or closes first is dropped and leaves the listener waiting for the editor.
    """
    protocol = server.protocol
    stop = asyncio.Event()
    taken = False

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal taken
        first: dict[str, Any] | None = None
        if not taken and token is not None:
            try:
                body = await asyncio.wait_for(read_frame(reader), AUTH_TIMEOUT_S)
            except (TimeoutError, ConnectionError):
                body = None
            first = admitted(body, token) if body is not None else None
            if first is None:
                log.warning("refused a connection that did not start with initialize and the right token")
                writer.close()
                return
        if taken:
            log.warning("refused a second connection: this session already has its client")
            writer.close()
            return
        taken = True
        protocol.set_writer(writer)
        try:
            if first is not None:
                protocol.handle_message(json.loads(json.dumps(first), object_hook=protocol.structure_message))
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
