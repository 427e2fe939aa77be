"""Where the sockets live: a folder of the user's runtime directory that only the user can open."""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import platformdirs

SUFFIX = ".sock"


class UnsafeSocketDir(RuntimeError):
    """The socket folder is someone else's or open to others: no socket goes there."""


def socket_dir(create: bool = True) -> Path:
    """``<user runtime dir>/proactive-ls/shell-hook``, created 0700; raises :class:`UnsafeSocketDir`."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp
        warnings.simplefilter("ignore")
        base = Path(platformdirs.user_runtime_dir("proactive-ls"))
    path = base / "shell-hook"
    if create:
        for folder in reversed([path, *path.parents]):
            if not folder.exists():
                folder.mkdir(mode=0o700)  # each level we create is the user's alone, whatever the umask
                os.chmod(folder, 0o700)
    check_private(path)
    return path


def check_private(path: Path) -> None:
    """A folder the user owns that nobody else can enter; a folder of ours with loose modes is tightened."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UnsafeSocketDir(f"{path} is not a folder owned by this user")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)


def socket_path(pid: int | None = None, directory: Path | None = None) -> Path:
    """This server's socket: one per process, named by its pid."""
    return (directory or socket_dir()) / f"{pid or os.getpid()}{SUFFIX}"


def sockets(directory: Path | None = None) -> list[Path]:
    """Every server socket there is (some may be stale: their server died without closing)."""
    try:
        folder = directory or socket_dir(create=False)
        return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))
    except (OSError, UnsafeSocketDir):
        return []
