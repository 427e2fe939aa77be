"""Every kind of file `proactive-ls replay` reads, as a :class:`~proactive_ls.replay.format.Recording`:
session files, ``serve --record`` recordings and ProactiveBench traces.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from proactive_ls.inputs import Input
from proactive_ls.lsp import protocol
from proactive_ls.lsp.recorder import FORMAT, VERSION, initialize_roots, redact_strings
from proactive_ls.replay.format import Header, Recording, ReplayFormatError, load_session, sort_by_time

log = logging.getLogger(__name__)


def load_any(path: Path) -> Recording:
    """A session file, a `serve --record` recording, or a ProactiveBench trace."""
    if path.suffix == ".json":
        from proactive_ls.bench.traces import trace_as_recording

        return trace_as_recording(path)
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        head = json.loads(first) if first.strip() else {}
    except json.JSONDecodeError:
        head = {}
    if isinstance(head, dict) and head.get("format") == FORMAT:
        return recording_as_session(path)
    return load_session(path)


def _relocate(value: Any, old: Path, new: Path) -> Any:
    """Every path and file URI under `old` in `value`, moved under `new` (other text is left alone)."""
    pairs = [(old.as_uri(), new.as_uri()), (str(old), str(new))]

    def move(text: str) -> str:
        for a, b in pairs:
            if a in text:
                text = text.replace(a, b)
        return text

    return redact_strings(value, move)


def recording_as_session(path: Path, workspace: Path | None = None) -> Recording:
    """Read a ``serve --record`` file as a replay session.

    A recording moves with its project: when `workspace` is given, or a folder named ``workspace``
    lies beside the recording file, the recorded workspace folder is replaced by it in every path
    and URI (the shipped example, examples/recorded-session, relies on this on any machine).

    ``initialize`` gives the workspace (the first workspace folder, else rootUri/rootPath) and the
    settings (initializationOptions, without ``feedbackLog``: a replay must not write to the log
    the recorded session wrote to). didOpen/didChange/didSave/didClose, proactive/terminalCommand,
    proactive/diagnostics and proactive/event become actions at their arrival time. Everything else
    (answers to proposals, code action requests, configuration changes, responses) is counted in the
    header's ``skipped`` and not replayed.
    """
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        lines = [(n, raw) for n, raw in enumerate(f, start=1) if raw.strip()]
    if not lines:
        raise ReplayFormatError(f"{path}: empty recording")
    try:
        head = json.loads(lines[0][1])
    except json.JSONDecodeError as exc:
        raise ReplayFormatError(f"{path}:1: not JSON: {exc.msg}") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise ReplayFormatError(f"{path}:1: not a proactive-ls recording (no {FORMAT!r} header)")
    if head.get("version") != VERSION:
        raise ReplayFormatError(
            f"{path}:1: recording version {head.get('version')!r}; this proactive-ls reads version {VERSION}"
        )
    target = Path(workspace).resolve() if workspace is not None else None
    if target is None and (path.parent / "workspace").is_dir():
        target = (path.parent / "workspace").resolve()
    recorded: Path | None = None
    workspace = path.parent.resolve()
    settings: dict[str, Any] = {}
    actions: list[Input] = []
    skipped: Counter[str] = Counter()
    excluded = 0
    for number, raw in lines[1:]:
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            if number == lines[-1][0]:
                log.warning("%s:%d: skipping a torn last line", path, number)
                continue
            raise ReplayFormatError(f"{path}:{number}: not JSON") from None
        message, t = line.get("message") or {}, line.get("t")
        if not isinstance(t, (int, float)) or not isinstance(message, dict):
            raise ReplayFormatError(f"{path}:{number}: a recording line needs 't' and 'message'")
        method, params = message.get("method"), message.get("params")
        excluded += bool(line.get("excluded"))
        if method == "initialize" and isinstance(params, dict):
            recorded = next(iter(initialize_roots(params)), workspace)
            workspace = target or recorded
            options = params.get("initializationOptions")
            settings = (
                {k: v for k, v in (options or {}).items() if k != "feedbackLog"} if isinstance(options, dict) else {}
            )
            continue
        if not isinstance(method, str) or not isinstance(params, dict):
            skipped["(response)" if method is None else str(method)] += 1
            continue
        if target is not None and recorded is not None and target != recorded:
            params = _relocate(params, recorded, target)
        try:
            item = protocol.input_of(method, params)
        except protocol.MalformedMessage as exc:
            raise ReplayFormatError(f"{path}:{number}: malformed {exc}") from None
        if item is None:
            skipped[method] += 1
        else:
            actions.append(item.model_copy(update={"time": float(t)}))
    actions = sort_by_time(actions)
    started = head.get("started")
    when = datetime.fromtimestamp(started).isoformat(timespec="seconds") if isinstance(started, (int, float)) else "?"
    header = Header.model_validate(
        {
            "description": f"recorded by proactive-ls serve --record, started {when}",
            "workspace": str(workspace),
            "settings": settings,
            "skipped": dict(sorted(skipped.items())),
            "recorded_workspace": str(recorded) if recorded is not None else None,
            "excluded_messages": excluded,
        }
    )
    return Recording(header, actions, workspace, path)


__all__ = ["load_any", "recording_as_session"]
