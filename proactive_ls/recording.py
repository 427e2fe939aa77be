"""`serve --record`: every message the client sends, timestamped and redacted, as JSON Lines.

The file starts with a header line ``{"format": "proactive-ls/recording", "version": 1, "started": <unix>}``;
then one line per message received, in arrival order: ``{"t": <unix seconds>, "message": <JSON-RPC>}``
(``"excluded": true`` is added when the message's document content was dropped). Each line is
flushed when written, so a crash loses at most the message being written.

What is kept follows the event history's rules (proactive_ls/sensing/redaction.py):

* every string is passed through the secret redactor (tokens, keys, passwords become ``[REDACTED:kind]``);
* the text of an excluded file (the ``exclude`` globs, gitignored files) never enters the file:
  in didOpen / didChange / didSave of such a document each text keeps only its line breaks, so the
  line structure (what the history keeps of such a file) survives and nothing else;
* the output of a terminal command that names an excluded file (``cat .env``) is dropped.

:func:`recording_as_session` turns a recording into a replay :class:`~proactive_ls.replay.Recording`
(docs/replay-format.md), so ``proactive-ls replay`` runs it through the engine or the server again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from proactive_ls.config import Settings, SettingsError, parse_settings
from proactive_ls.events import TerminalCommand
from proactive_ls.replay import (
    ChangeAction,
    CloseAction,
    DiagnosticsAction,
    EventAction,
    Header,
    OpenAction,
    RangeChange,
    Recording,
    ReplayFormatError,
    SaveAction,
    TerminalAction,
)
from proactive_ls.sensing.paths import uri_to_path
from proactive_ls.sensing.redaction import Redactor

log = logging.getLogger(__name__)

FORMAT = "proactive-ls/recording"
VERSION = 1

DID_OPEN = "textDocument/didOpen"
DID_CHANGE = "textDocument/didChange"
DID_SAVE = "textDocument/didSave"
DID_CLOSE = "textDocument/didClose"
TERMINAL_COMMAND = "proactive/terminalCommand"
DIAGNOSTICS = "proactive/diagnostics"
EVENT = "proactive/event"


def line_structure(text: str) -> str:
    """Only the line breaks of `text`: what is kept of an excluded document's content."""
    return "".join(ch for ch in text if ch in "\r\n")


def _redact_strings(value: Any, redact: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v, redact) for v in value]
    return value


def _roots_of(params: dict[str, Any]) -> list[Path]:
    roots: list[Path] = []
    for folder in params.get("workspaceFolders") or []:
        if isinstance(folder, dict) and (p := uri_to_path(str(folder.get("uri", "")))) is not None:
            roots.append(p)
    if not roots and params.get("rootUri") and (p := uri_to_path(str(params["rootUri"]))) is not None:
        roots.append(p)
    if not roots and params.get("rootPath"):
        roots.append(Path(str(params["rootPath"])))
    return roots


class Recorder:
    """Writes the messages of one server's client to `path` (created, or truncated, with mode 0600)."""

    def __init__(self, server: Any, path: Path) -> None:
        self.server = server
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "w", encoding="utf-8")
        overrides = getattr(server, "overrides", {}) or {}
        self._settings = self._parse(overrides, {})
        self._fallback = self._redactor(self._settings, [])
        self._excluded: dict[str, bool] = {}
        self._write({"format": FORMAT, "version": VERSION, "started": time.time()})

    # -- which redactor applies --------------------------------------------------------------------
    @staticmethod
    def _parse(overrides: dict[str, Any], options: Any) -> Settings:
        try:
            return parse_settings({**(options if isinstance(options, dict) else {}), **overrides})
        except SettingsError:
            return parse_settings(overrides) if overrides else Settings()

    @staticmethod
    def _redactor(settings: Settings, roots: list[Path]) -> Redactor:
        return Redactor(settings.exclude, settings.respect_gitignore, settings.redact_secrets, roots)

    def redactor(self) -> Redactor:
        """The session's own redactor once there is a session (it follows configuration changes)."""
        session = getattr(self.server, "session", None)
        redactor = getattr(session, "redactor", None)
        return redactor if isinstance(redactor, Redactor) else self._fallback

    # -- recording ---------------------------------------------------------------------------------
    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self._file.flush()

    def record(self, message: dict[str, Any], now: float | None = None) -> None:
        t = time.time() if now is None else now
        method = message.get("method")
        if method == "initialize" and isinstance(message.get("params"), dict):
            params = message["params"]
            self._settings = self._parse(getattr(self.server, "overrides", {}) or {}, params.get("initializationOptions"))
            self._fallback = self._redactor(self._settings, _roots_of(params))
        redactor = self.redactor()
        kept, excluded = self._strip_excluded(message, redactor)
        line: dict[str, Any] = {"t": t, "message": _redact_strings(kept, redactor.redact)}
        if excluded:
            line["excluded"] = True
        self._write(line)

    def _is_excluded(self, uri: str, redactor: Redactor) -> bool:
        if uri not in self._excluded:
            try:
                self._excluded[uri] = redactor.is_excluded(uri)
            except Exception:  # an unreadable path: keep nothing rather than too much
                log.exception("could not decide whether %s is excluded; dropping its content", uri)
                self._excluded[uri] = True
        return self._excluded[uri]

    def _strip_excluded(self, message: dict[str, Any], redactor: Redactor) -> tuple[dict[str, Any], bool]:
        """The message without the content of excluded files (a new dict; the server's is untouched)."""
        method, params = message.get("method"), message.get("params")
        if not isinstance(params, dict):
            return message, False
        doc = params.get("textDocument") if isinstance(params.get("textDocument"), dict) else {}
        uri = str(doc.get("uri", ""))
        if method == DID_OPEN and uri:
            self._excluded.pop(uri, None)  # decide afresh on every open
            if self._is_excluded(uri, redactor):
                new_doc = {**doc, "text": line_structure(str(doc.get("text", "")))}
                return {**message, "params": {**params, "textDocument": new_doc}}, True
        elif method == DID_CHANGE and uri and self._is_excluded(uri, redactor):
            changes = [
                {**c, "text": line_structure(str(c.get("text", "")))} if isinstance(c, dict) else c
                for c in params.get("contentChanges") or []
            ]
            return {**message, "params": {**params, "contentChanges": changes}}, True
        elif method == DID_SAVE and uri and self._is_excluded(uri, redactor):
            if isinstance(params.get("text"), str):
                return {**message, "params": {**params, "text": line_structure(params["text"])}}, True
            return message, True
        elif method == DID_CLOSE and uri:
            self._excluded.pop(uri, None)
        elif method == TERMINAL_COMMAND and params.get("output") and isinstance(params.get("commandLine"), str):
            probe = TerminalCommand(time=0.0, command_line=params["commandLine"], output_tail="x")
            redacted = redactor.redact_event(probe)
            if redacted is not None and getattr(redacted, "output_tail", "x") == "":
                return {**message, "params": {**params, "output": ""}}, True
        return message, False

    def close(self) -> None:
        self._file.close()


def attach_recorder(server: Any, path: Path) -> None:
    """Record every message the server receives from its client to `path` (see the module doc).

    pygls decodes each message with ``json.loads(body, object_hook=protocol.structure_message)``;
    the top-level object (the one with ``"jsonrpc"``) reaches that hook last, as plain JSON, just
    before it is handled. The recorder wraps the hook, so it sees exactly what arrived, in order.
    A failure to record is logged and never stops the message from being handled.
    """
    protocol = server.protocol
    recorder = Recorder(server, path)
    structure = protocol.structure_message

    def structure_and_record(data: Any) -> Any:
        if isinstance(data, dict) and "jsonrpc" in data:
            try:
                recorder.record(data)
            except Exception:
                log.exception("could not record a message to %s", path)
        return structure(data)

    protocol.structure_message = structure_and_record
    server.recorder = recorder


# -- a recording as a replay session ---------------------------------------------------------------


def _workspace_of(params: dict[str, Any], fallback: Path) -> Path:
    roots = _roots_of(params)
    return roots[0] if roots else fallback


def _action(method: str, t: float, p: dict[str, Any]) -> Any | None:
    doc = p.get("textDocument") or {}
    if method == DID_OPEN:
        return OpenAction(time=t, uri=doc["uri"], language_id=doc.get("languageId", ""), version=doc.get("version", 0), text=doc.get("text", ""))
    if method == DID_CHANGE:
        changes = [RangeChange(range=c.get("range"), text=c.get("text", "")) for c in p.get("contentChanges") or []]
        return ChangeAction(time=t, uri=doc["uri"], version=doc.get("version") or 0, changes=changes)
    if method == DID_SAVE:
        return SaveAction(time=t, uri=doc["uri"])
    if method == DID_CLOSE:
        return CloseAction(time=t, uri=doc["uri"])
    if method == TERMINAL_COMMAND:
        return TerminalAction(
            time=t,
            command_line=p["commandLine"],
            cwd=p.get("cwd"),
            exit_code=p.get("exitCode"),
            output=p.get("output") or "",
            duration_ms=p.get("durationMs"),
        )
    if method == DIAGNOSTICS:
        return DiagnosticsAction(time=t, uri=p["uri"], diagnostics=p.get("diagnostics") or [])
    if method == EVENT:
        return EventAction(time=t, event=dict(p["event"]))
    return None


def _relocate(value: Any, old: Path, new: Path) -> Any:
    """Every path and file URI under `old` in `value`, moved under `new` (other text is left alone)."""
    pairs = [(old.as_uri(), new.as_uri()), (str(old), str(new))]

    def move(text: str) -> str:
        for a, b in pairs:
            if a in text:
                text = text.replace(a, b)
        return text

    return _redact_strings(value, move)


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
        raise ReplayFormatError(f"{path}:1: recording version {head.get('version')!r}; this proactive-ls reads version {VERSION}")
    target = Path(workspace).resolve() if workspace is not None else None
    if target is None and (path.parent / "workspace").is_dir():
        target = (path.parent / "workspace").resolve()
    recorded: Path | None = None
    workspace = path.parent.resolve()
    settings: dict[str, Any] = {}
    actions: list[Any] = []
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
            recorded = _workspace_of(params, workspace)
            workspace = target or recorded
            options = params.get("initializationOptions")
            settings = {k: v for k, v in (options or {}).items() if k != "feedbackLog"} if isinstance(options, dict) else {}
            continue
        if not isinstance(method, str) or not isinstance(params, dict):
            skipped["(response)" if method is None else str(method)] += 1
            continue
        if target is not None and recorded is not None and target != recorded:
            params = _relocate(params, recorded, target)
        try:
            action = _action(method, float(t), params)
        except (KeyError, TypeError, ValidationError) as exc:
            raise ReplayFormatError(f"{path}:{number}: malformed {method}: {exc}") from None
        if action is None:
            skipped[method] += 1
        else:
            actions.append(action)
    actions.sort(key=lambda a: a.time)
    started = head.get("started")
    when = datetime.fromtimestamp(started).isoformat(timespec="seconds") if isinstance(started, (int, float)) else "?"
    header = Header(
        description=f"recorded by proactive-ls serve --record, started {when}",
        workspace=str(workspace),
        settings=settings,
        skipped=dict(sorted(skipped.items())),
        recorded_workspace=str(recorded) if recorded is not None else None,
        excluded_messages=excluded,
    )
    return Recording(header, actions, workspace, path)


__all__ = ["attach_recorder", "recording_as_session", "Recorder", "line_structure", "FORMAT", "VERSION"]
