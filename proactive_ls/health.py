"""What ``proactive-ls doctor`` checks on this machine before any model server.

The default configuration (the embedded proposer, the CPU gate) needs no server, so a fresh install
is healthy when its own parts work: the feedback log can be written, git is there for the git
rules, every tree-sitter grammar loads and parses, and the gate model loads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from proactive_ls.config import Settings

__all__ = ["Check", "Status", "local_checks"]

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass
class Check:
    """One line of the doctor's table: what was checked, how it went, and what to do about it."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def _feedback_log(settings: Settings) -> Check:
    path = settings.feedback_log_path()
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if path.exists():
        ok = path.is_file() and os.access(path, os.W_OK)
        detail = f"{path} ({path.stat().st_size:,} bytes)"
    else:
        ok = existing is not None and existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)
        detail = f"{path} (created at the first answer)"
    if ok:
        return Check("feedback log", "ok", f"writable: {detail}")
    return Check(
        "feedback log",
        "fail",
        f"cannot be written: {detail}",
        "point feedbackLog (or serve --feedback-log) at a file you can write",
    )


def _git() -> Check:
    exe = shutil.which("git")
    if exe is None:
        return Check("git", "warn", "git is not on PATH: the git rules stay silent", "install git")
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("git", "warn", f"{exe} does not run: {exc}", "reinstall git")
    return Check("git", "ok", f"{out.strip()} ({exe})")


def _grammars() -> Check:
    from tree_sitter import Parser

    from proactive_ls.sensing.syntax.languages import LANGUAGES, load_language

    broken: list[str] = []
    for name in LANGUAGES:
        try:
            Parser(load_language(name)).parse(b"x\n")
        except Exception as exc:  # any failure of a grammar package is what this check reports
            broken.append(f"{name} ({exc})")
    if broken:
        return Check(
            "grammars",
            "fail",
            "cannot load: " + ", ".join(broken),
            "reinstall proactive-ls so that its tree-sitter grammars match tree-sitter",
        )
    return Check("grammars", "ok", f"{len(LANGUAGES)} tree-sitter grammars load: {', '.join(LANGUAGES)}")


def _gate() -> Check:
    from proactive_ls.judges.gate.model import PACKAGED_MODEL, Gate

    try:
        gate = Gate.load()
    except (OSError, ValueError, KeyError) as exc:
        return Check("gate", "fail", f"the packaged gate does not load: {exc}", "reinstall proactive-ls")
    return Check("gate", "ok", f"gate {gate.version} loads ({len(gate.weights)} weights, {Path(PACKAGED_MODEL).name})")


def _proposer(settings: Settings) -> Check:
    if settings.backend == "local":
        return Check("proposer", "ok", "the embedded proposer: no model server needed")
    if settings.model is None:
        return Check(
            "proposer",
            "fail",
            'backend is "vllm" but no model endpoint is set',
            'add "model": {"url": ..., "name": ...} to the settings',
        )
    return Check("proposer", "ok", f"model '{settings.model.name}' at {settings.model.url} (checked below)")


def local_checks(settings: Settings) -> list[Check]:
    """The checks that need nothing but this machine, in the order a user would fix them."""
    return [_proposer(settings), _feedback_log(settings), _git(), _grammars(), _gate()]
