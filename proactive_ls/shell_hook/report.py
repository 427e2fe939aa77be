"""The shell's end: ``python -m proactive_ls.shell_hook.report --exit-code N ... -- COMMAND LINE``.

The rc snippet runs this in the background after each command. It writes one JSON line to every
server socket and returns; a socket nobody listens on any more is removed. It never prints and
never fails the shell: a server that is busy or gone just misses the command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
from pathlib import Path

from proactive_ls.shell_hook import paths

CONNECT_TIMEOUT_S = 1.0


def payload(command_line: str, cwd: str, exit_code: int | None, duration_ms: int | None, shell: str | None) -> bytes:
    report = {"commandLine": command_line, "cwd": cwd, "exitCode": exit_code, "durationMs": duration_ms}
    if shell:
        report["shell"] = shell
    return (json.dumps(report, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")


def send(line: bytes, directory: Path | None = None) -> int:
    """Write `line` to every live server socket; returns how many took it."""
    delivered = 0
    for path in paths.sockets(directory):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT_S)
            try:
                sock.connect(str(path))
                sock.sendall(line)
                delivered += 1
            except ConnectionRefusedError:
                with contextlib.suppress(OSError):
                    path.unlink()  # its server is gone
            except OSError:
                pass
    return delivered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="proactive-ls-report", description=__doc__)
    parser.add_argument("--exit-code", type=int, default=None)
    parser.add_argument("--duration-ms", type=int, default=None)
    parser.add_argument("--cwd", default=None)
    parser.add_argument("--shell", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    words = args.command[1:] if args.command[:1] == ["--"] else args.command
    command_line = " ".join(words).strip()
    if not command_line:
        return 0
    cwd = args.cwd or os.getcwd()
    duration = args.duration_ms if args.duration_ms is None or args.duration_ms >= 0 else None
    send(payload(command_line, cwd, args.exit_code, duration, args.shell))
    return 0


if __name__ == "__main__":
    sys.exit(main())
