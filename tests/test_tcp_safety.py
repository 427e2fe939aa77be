"""``serve --tcp`` is safe by default: loopback only, a token before anything else, one connection
per session, clear errors for bad addresses (``proactive_ls/lsp/transport.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from proactive_ls.lsp import protocol
from proactive_ls.lsp.transport import AddressError, check_host, parse_address

CLI = [sys.executable, "-m", "proactive_ls"]


def test_addresses_parse_with_ipv6_and_say_what_is_wrong() -> None:
    assert parse_address("127.0.0.1:2087") == ("127.0.0.1", 2087)
    assert parse_address(":2087") == ("127.0.0.1", 2087)
    assert parse_address("[::1]:2087") == ("::1", 2087)
    assert parse_address("[::]:0") == ("::", 0)
    for bad, says in [
        ("::1:2087", "brackets"),
        ("[::1]2087", "[IPv6]:PORT"),
        ("[nothost]:1", "not an IPv6"),
        ("localhost:99999", "0 to 65535"),
        ("localhost", "HOST:PORT"),
    ]:
        with pytest.raises(AddressError, match=says.replace("[", r"\[").replace("]", r"\]")):
            parse_address(bad)
    check_host("127.0.0.1", allow_remote=False)
    check_host("::1", allow_remote=False)
    for remote in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(AddressError, match="--allow-remote"):
            check_host(remote, allow_remote=False)
        check_host(remote, allow_remote=True)


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0", "[::1]2087"])
def test_serve_refuses_remote_or_bad_addresses_with_a_clear_error(address: str) -> None:
    proc = subprocess.run([*CLI, "serve", "--tcp", address], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "--tcp" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _read_message(reader: asyncio.StreamReader) -> dict[str, object]:
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    result: dict[str, object] = json.loads(await reader.readexactly(length))
    return result


def _initialize(token: str | None, feedback_log: Path) -> bytes:
    options: dict[str, object] = {"feedbackLog": str(feedback_log)}
    if token is not None:
        options["token"] = token
    return _frame(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": {}, "rootUri": None, "initializationOptions": options},
        }
    )


@pytest.fixture
def tcp_server(tmp_path: Path) -> Iterator[tuple[int, Path, subprocess.Popen[bytes]]]:
    port = _free_port()
    token_file = tmp_path / "token"
    server = subprocess.Popen(
        [*CLI, "serve", "--tcp", f"127.0.0.1:{port}", "--token-file", str(token_file)],
        stderr=subprocess.PIPE,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")},
    )
    try:
        assert server.stderr is not None
        while b"listening on" not in (line := server.stderr.readline()):  # a state the server reports
            assert line, "the server exited before listening"
        yield port, token_file, server
    finally:
        server.kill()
        server.wait(timeout=10)


async def _closed_without_answer(reader: asyncio.StreamReader) -> bool:
    """The server closed the connection (a reset too: it closed with our message unread) and said nothing."""
    try:
        return await asyncio.wait_for(reader.read(), 10) == b""
    except ConnectionResetError:
        return True


async def test_the_token_file_is_private_and_a_wrong_or_missing_token_gets_nothing(
    tcp_server: tuple[int, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, token_file, _ = tcp_server
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    # A blind POST, as a web page can send to localhost: the connection is closed, nothing answered.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "workspace/executeCommand",
            "params": {"command": protocol.COMMAND_STATUS},
        }
    )
    writer.write(
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
    )
    await writer.drain()
    assert await _closed_without_answer(reader)


async def test_a_wrong_token_is_refused(tcp_server: tuple[int, Path, subprocess.Popen[bytes]], tmp_path: Path) -> None:
    port, _, _ = tcp_server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_initialize("guess", tmp_path / "log.jsonl"))
    await writer.drain()
    assert await _closed_without_answer(reader)


async def test_the_right_token_opens_the_session_and_a_second_connection_is_refused(
    tcp_server: tuple[int, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, token_file, _ = tcp_server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    log = tmp_path / "data" / "proactive-ls" / "log.jsonl"  # in the data folder: a client may choose it
    writer.write(_initialize(token_file.read_text().strip(), log))
    await writer.drain()
    answer = await asyncio.wait_for(_read_message(reader), 60)
    assert answer["id"] == 1 and "result" in answer
    # Another process connects while the editor is connected: it gets nothing of the session.
    r2, w2 = await asyncio.open_connection("127.0.0.1", port)
    w2.write(_initialize(token_file.read_text().strip(), tmp_path / "other.jsonl"))
    await w2.drain()
    assert await _closed_without_answer(r2)
    writer.write(
        _frame(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "workspace/executeCommand",
                "params": {"command": protocol.COMMAND_STATUS, "arguments": []},
            }
        )
    )
    await writer.drain()
    while (status := await asyncio.wait_for(_read_message(reader), 30)).get("id") != 2:
        pass
    assert status["result"]["feedbackLog"] == str(log)  # type: ignore[index]
    writer.close()


def test_a_client_cannot_point_the_feedback_log_at_a_file_that_is_not_one(tmp_path: Path) -> None:
    from proactive_ls.config import SettingsError, SettingsLayers

    bashrc = tmp_path / ".bashrc"
    bashrc.write_text("export PATH=$PATH:~/bin\n")
    layers = SettingsLayers()
    settings, error = layers.initial({"feedbackLog": str(bashrc)}, roots=[tmp_path])  # inside, yet no log
    assert error is not None and "jsonl" in error and settings.feedback_log is None
    disguised = tmp_path / "rc.jsonl"
    disguised.write_text("alias ls='touch /tmp/x'\n")
    with pytest.raises(SettingsError, match="not a feedback log"):
        layers.changed({"proactive": {"feedbackLog": str(disguised)}})
    good = tmp_path / "log.jsonl"
    assert layers.changed({"feedbackLog": str(good)})[0].feedback_log == good
    # The command line is the user's own choice: not checked.
    assert SettingsLayers({"feedbackLog": str(bashrc)}).initial({})[0].feedback_log == bashrc


async def test_connections_that_fail_the_token_leave_the_session_to_the_editor(
    tcp_server: tuple[int, Path, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port, token_file, server = tcp_server
    # A process that connects and says nothing, one that sends a blind POST, one with a wrong token.
    _, silent = await asyncio.open_connection("127.0.0.1", port)
    for attempt in [b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", _initialize("guess", tmp_path / "x")]:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(attempt)
        await w.drain()
        assert await _closed_without_answer(r)
    assert server.poll() is None  # the refused connections did not end the server
    # The editor, arriving last, still gets the session.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_initialize(token_file.read_text().strip(), tmp_path / "data" / "proactive-ls" / "log.jsonl"))
    await writer.drain()
    answer = await asyncio.wait_for(_read_message(reader), 60)
    assert answer["id"] == 1 and "result" in answer
    silent.close()
    writer.close()
