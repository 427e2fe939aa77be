"""Shells outside the editor: `proactive-ls shell-hook` snippets in real shells, the real server's socket.

A real interactive bash (and zsh where installed) in a pseudo-terminal sources the snippet, runs a
really failing pytest, and the running server of that workspace has the command; garbage on the
socket is dropped and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from proactive_ls.inputs import TerminalInput
from proactive_ls.lsp import protocol
from proactive_ls.shell_hook import paths, report
from proactive_ls.shell_hook.listener import ShellHookListener
from proactive_ls.shell_hook.snippets import snippet
from proactive_ls.shell_hook.wire import MAX_LINE_BYTES
from tests.lsp_client import eventually, start_session


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short XDG_RUNTIME_DIR of its own (Unix socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="pls-rt-"))
    os.chmod(path, 0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Pty:
    """An interactive shell in a pseudo-terminal, its output drained by a thread."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.master = master
        self.output = b""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    def text(self) -> str:
        with self._lock:
            return self.output.decode("utf-8", "replace")

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> None:
        try:
            self.type("exit")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def _shell_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASH_", "ZDOTDIR", "PROMPT_COMMAND", "PS0"))}
    env.update(HOME=str(home), TERM="xterm-256color", PYTHONDONTWRITEBYTECODE="1")
    return env


def _bash(home: Path, cwd: Path) -> Pty:
    # The user's own rc: a prompt command of theirs that must keep working, then the hook at its end.
    (home / ".bashrc").write_text(
        "PS1='user-prompt$ '\n"
        "PROMPT_COMMAND='__user_seen=$?; echo \"user-hook saw $__user_seen\"'\n"
        f'eval "$({sys.executable} -m proactive_ls shell-hook bash)"\n'
    )
    return Pty(["bash", "--noprofile", "--rcfile", str(home / ".bashrc"), "-i"], cwd, _shell_env(home))


def _zsh(home: Path, cwd: Path) -> Pty:
    (home / ".zshrc").write_text(
        "PS1='user-prompt%% '\n"
        'precmd() { echo "user-hook saw $?" }\n'
        f'eval "$({sys.executable} -m proactive_ls shell-hook zsh)"\n'
    )
    env = _shell_env(home)
    env["ZDOTDIR"] = str(home)
    return Pty(["zsh", "-i"], cwd, env)


SHELLS = {
    "bash": _bash,
    "zsh": _zsh,
}


@pytest.mark.parametrize("shell", sorted(SHELLS))
async def test_a_failing_test_run_in_an_outside_shell_reaches_the_server_of_its_workspace(
    shell: str, tmp_path: Path, calc_project: Path, runtime_dir: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (scripts/shells-env.sh installs it on CI)")
    log = tmp_path / "feedback.jsonl"
    other = tmp_path / "elsewhere"
    other.mkdir()
    client = await start_session(calc_project, log, env=dict(os.environ))
    home = tmp_path / "home"
    home.mkdir()
    term = SHELLS[shell](home, calc_project)
    try:

        async def listening() -> Any:
            return (await client.execute(protocol.COMMAND_STATUS))["shellHook"]["socket"]

        sock = Path(await eventually(listening))  # the listener starts after `initialized`
        assert sock.parent == runtime_dir / "proactive-ls" / "shell-hook"
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700

        await eventually(lambda: "user-prompt" in term.text(), timeout=30)
        term.type("")  # an empty Enter reports nothing
        term.type(f"cd {other} && true && cd - >/dev/null")  # another folder, but typed in the workspace
        term.type(f"{sys.executable} -m pytest -q -p no:cacheprovider")

        async def commands() -> int:
            st = await client.execute(protocol.COMMAND_STATUS)
            return int(st["shellHook"]["commands"]) if st["shellHook"]["commands"] >= 2 else 0

        assert await eventually(commands, timeout=60) == 2
        # The user's prompt hook still sees the command's exit status.
        await eventually(lambda: "user-hook saw 1" in term.text(), timeout=30)
        # A command typed in another workspace is not this server's.
        term.type(f"cd {other}")
        term.type("false")
        term.type(f"cd {calc_project}")
        await eventually(lambda: term.text().count("user-hook saw") >= 6, timeout=30)
        term.type("true")
        assert await eventually(lambda: _commands_at_least(client, 4), timeout=30) == 4
    finally:
        term.close()
        await client.shutdown_session()
    assert not sock.exists(), "the server removes its socket when it shuts down"


async def _commands_at_least(client: Any, n: int) -> int:
    st = await client.execute(protocol.COMMAND_STATUS)
    count = int(st["shellHook"]["commands"])
    return count if count >= n else 0


async def test_garbage_on_the_socket_is_dropped_and_valid_lines_still_count(tmp_path: Path, runtime_dir: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    got: list[TerminalInput] = []
    listener = ShellHookListener([root], got.append)
    path = await listener.start()
    assert path is not None
    good = report.payload("pytest -q", str(root / "sub"), 1, 12, "bash")
    lines = [
        b"not json\n",
        b"\xff\xfe\x00binary\n",
        b"[1, 2, 3]\n",
        b'{"commandLine": "x"}\n',  # no cwd
        b'{"commandLine": "x", "cwd": "relative/path"}\n',
        json.dumps({"commandLine": "x", "cwd": str(root), "exitCode": "one"}).encode() + b"\n",
        json.dumps({"commandLine": "", "cwd": str(root)}).encode() + b"\n",
        b"[" * 100_000 + b"\n",
        report.payload("ls", "/", 0, 1, "bash"),  # valid, outside the workspace
        good,
    ]

    def send_all() -> None:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(path))
            s.sendall(b"".join(lines))
        with socket.socket(socket.AF_UNIX) as s:  # a line longer than the limit closes that connection
            s.connect(str(path))
            try:
                s.sendall(b"x" * (MAX_LINE_BYTES * 2) + b"\n" + good)
            except OSError:
                pass
        with socket.socket(socket.AF_UNIX) as s:  # connect and say nothing
            s.connect(str(path))

    await asyncio.to_thread(send_all)
    # 8 bad lines, then the overlong one (its connection is closed, the good line after it is lost)
    await eventually(lambda: listener.dropped >= 9 and got, timeout=10)
    assert [(g.command_line, g.exit_code, g.duration_ms) for g in got] == [("pytest -q", 1, 12)]
    # and it still serves
    assert await asyncio.to_thread(report.send, good) == 1
    await eventually(lambda: len(got) == 2, timeout=10)
    await listener.aclose()
    assert not path.exists()


async def test_the_reporter_removes_sockets_nobody_listens_on(runtime_dir: Path) -> None:
    folder = paths.socket_dir()
    stale = folder / "999999999.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # bound, never listened on: connecting is refused
    assert report.send(report.payload("true", "/", 0, 0, None)) == 0
    assert not stale.exists()


def test_a_socket_folder_of_another_user_or_open_to_others_is_refused_or_tightened(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    os.chmod(loose, 0o777)
    paths.check_private(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(loose)
    with pytest.raises(paths.UnsafeSocketDir):
        paths.check_private(link)


def test_the_cli_prints_a_snippet_each_shell_accepts(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "shell-hook", "bash"], capture_output=True, text=True, check=True
    ).stdout
    assert out == snippet("bash", sys.executable)
    assert "proactive_ls.shell_hook.report" in out
    for shell in ("bash", "zsh", "fish"):
        if shutil.which(shell):
            check = ["-n"] if shell != "fish" else ["--no-execute"]
            script = tmp_path / f"hook.{shell}"
            script.write_text(snippet(shell, sys.executable))
            subprocess.run([shell, *check, str(script)], check=True)
    bad = subprocess.run([sys.executable, "-m", "proactive_ls", "shell-hook", "tcsh"], capture_output=True, text=True)
    assert bad.returncode == 2 and "tcsh" in bad.stderr and "bash" in bad.stderr
