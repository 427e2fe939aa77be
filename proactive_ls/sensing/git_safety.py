"""Git run as on untrusted input: the environment every git process of the server gets.

A workspace can be an archive, a shared folder or a volume: its ``.git/config`` is not the user's.
Git runs commands named there (``core.fsmonitor``, hooks, ``filter.<x>.clean``/``smudge``/``process``,
``diff.<x>.textconv``/``command``, ``diff.external``, merge drivers) on a plain ``git status`` or
``git diff``. Every git call of the server (GitPython's included) takes :func:`safe_env` for its
repository: configuration overrides passed as ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n`` (what ``-c``
does, inherited by the processes git starts itself), one empty override for each command-running key
the repository's configuration defines, and no prompt, no optional lock, no network transport.

Reading the configuration (``git config --list``) runs nothing, so it is how the driver names are
found; the answer is cached per repository until one of its configuration files changes.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # GitPython costs 160 ms to import: not on the server's start-up path
    import git

log = logging.getLogger(__name__)

GIT_TIMEOUT_S = 10.0

#: Overrides for every git call: nothing configured in the repository may run a program.
FIXED_OVERRIDES: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", os.devnull),
    ("core.pager", "cat"),
    ("core.editor", "false"),
    ("core.askPass", ""),
    ("core.sshCommand", "false"),
    ("core.gitProxy", ""),
    ("core.alternateRefsCommand", ""),
    ("sequence.editor", "false"),
    ("diff.external", ""),
    ("credential.helper", ""),
    ("gpg.program", "false"),
    ("log.showSignature", "false"),
    ("status.submoduleSummary", "false"),
    ("protocol.allow", "never"),
    ("uploadpack.packObjectsHook", ""),
)

#: Arguments for every ``git diff``/``git log -p``-like call (the overrides cover them too; these say
#: it where the call is made).
DIFF_FLAGS: tuple[str, ...] = ("--no-ext-diff", "--no-textconv")

#: ``<section>.<name>.<key>`` keys whose value git runs as a command.
_DRIVER_KEY = re.compile(r"^(filter|diff|merge)\.(.+)\.(clean|smudge|process|textconv|command|driver)$", re.IGNORECASE)

_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_EXTERNAL_DIFF": "",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "false",
    "LC_ALL": "C",
}

_cache: dict[Path, tuple[tuple[int, ...], tuple[tuple[str, str], ...]]] = {}
_cache_lock = threading.Lock()


def overrides_env(overrides: Sequence[tuple[str, str]]) -> dict[str, str]:
    """``overrides`` as ``GIT_CONFIG_COUNT``/``KEY``/``VALUE`` variables (git ≥ 2.31 reads them as ``-c``)."""
    env = {"GIT_CONFIG_COUNT": str(len(overrides))}
    for i, (key, value) in enumerate(overrides):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def safe_env(root: Path | str | None = None) -> dict[str, str]:
    """The variables to add to a git process's environment (for the repository at ``root``, whose
    own command-running keys are blanked; ``None``: only the fixed overrides)."""
    overrides = list(FIXED_OVERRIDES)
    if root is not None:
        overrides.extend(driver_overrides(Path(root)))
    return {**_BASE_ENV, **overrides_env(overrides)}


def full_env(root: Path | str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A whole environment for ``subprocess``: ``base`` (default ``os.environ``) without the variables
    that would let the outside point git elsewhere, plus :func:`safe_env`."""
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith("GIT_CONFIG_") and k not in ("GIT_CONFIG_PARAMETERS", "GIT_DIR", "GIT_WORK_TREE")
    }
    env.update(safe_env(root))
    return env


def argv(*args: str) -> list[str]:
    """``git`` and ``args`` (the overrides travel in the environment from :func:`full_env`)."""
    return ["git", *args]


def harden(runner: git.Git, root: Path | str | None) -> None:
    """Give a GitPython ``git.Git`` (``repo.git``) the safe environment for every later call."""
    runner.update_environment(**safe_env(root))


def driver_overrides(root: Path) -> tuple[tuple[str, str], ...]:
    """An empty override for each ``filter``/``diff``/``merge`` driver command the configuration of
    the repository at ``root`` defines (and ``filter.<x>.required=false``), cached while its
    configuration files keep their mtimes."""
    root = root.resolve()
    stamps = _config_stamps(root)
    with _cache_lock:
        hit = _cache.get(root)
        if hit is not None and hit[0] == stamps:
            return hit[1]
    found = _read_driver_keys(root)
    with _cache_lock:
        _cache[root] = (stamps, found)
        if len(_cache) > 256:
            _cache.pop(next(iter(_cache)))
    return found


def _read_driver_keys(root: Path) -> tuple[tuple[str, str], ...]:
    env = full_env(None)
    try:
        proc = subprocess.run(
            ["git", "config", "--null", "--list"],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("git config of %s unreadable: %s", root, exc)
        return ()
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for entry in proc.stdout.decode("utf-8", "surrogateescape").split("\0"):
        key = entry.partition("\n")[0]
        m = _DRIVER_KEY.match(key)
        if m is None or key.lower() in seen:
            continue
        seen.add(key.lower())
        out.append((key, ""))
        required = f"filter.{m.group(2)}.required"
        if m.group(1).lower() == "filter" and required.lower() not in seen:
            seen.add(required.lower())
            out.append((required, "false"))
    return tuple(out)


def _git_dirs(root: Path) -> list[Path]:
    dot = root / ".git"
    if dot.is_dir():
        return [dot]
    try:
        text = dot.read_text(errors="replace")
    except OSError:
        return []
    if not text.startswith("gitdir:"):
        return []
    git_dir = (root / text[len("gitdir:") :].strip()).resolve()
    dirs = [git_dir]
    try:
        common = (git_dir / (git_dir / "commondir").read_text().strip()).resolve()
        dirs.append(common)
    except OSError:
        pass
    return dirs


def _config_stamps(root: Path) -> tuple[int, ...]:
    stamps: list[int] = []
    for d in _git_dirs(root):
        for name in ("config", "config.worktree"):
            try:
                stamps.append((d / name).stat().st_mtime_ns)
            except OSError:
                stamps.append(-1)
    return tuple(stamps)
