"""`serve --record`: every message the client sends, timestamped and redacted, as JSON Lines.

The file starts with a header line ``{"format": "proactive-ls/recording", "version": 1, "started": <unix>}``;
then one line per message received, in arrival order: ``{"t": <unix seconds>, "message": <JSON-RPC>}``
(``"excluded": true`` is added when the message's document content was dropped). Each line is
flushed when written, so a crash loses at most the message being written.

What is kept follows the event history's rules (proactive_ls/sensing/redaction/):

* every string is passed through the secret redactor (tokens, keys, passwords become ``[REDACTED:kind]``);
* the text of an excluded file (the ``exclude`` globs, gitignored files) never enters the file:
  in didOpen / didChange / didSave of such a document each text keeps only its line breaks, so the
  line structure (what the history keeps of such a file) survives and nothing else;
* the output of a terminal command that names an excluded file (``cat .env``) is dropped.

:func:`proactive_ls.replay.loaders.recording_as_session` turns a recording into a replay session
(docs/replay-format.md), so ``proactive-ls replay`` runs it through the engine or the server again.

Messages that carry an input are read with the protocol's table (``proactive_ls.lsp.protocol``),
so what is dropped from them is decided on the input, and written back with the same table.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from proactive_ls.config import Settings, SettingsError, parse_settings
from proactive_ls.events import TerminalCommand
from proactive_ls.inputs import ChangeInput, CloseInput, Input, OpenInput, SaveInput, TerminalInput
from proactive_ls.lsp import protocol
from proactive_ls.sensing.redaction import Redactor

log = logging.getLogger(__name__)

FORMAT = "proactive-ls/recording"
VERSION = 1


def line_structure(text: str) -> str:
    """Only the line breaks of `text`: what is kept of an excluded document's content."""
    return "".join(ch for ch in text if ch in "\r\n")


def redact_strings(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in a JSON value passed through `redact` (keys are left alone)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_strings(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_strings(v, redact) for v in value]
    return value


def initialize_roots(params: dict[str, Any]) -> list[Path]:
    """The workspace roots of an initialize message as JSON (none if it does not parse)."""
    try:
        data = {"processId": None, "capabilities": {}, **params}
        return protocol.workspace_roots(protocol.converter().structure(data, types.InitializeParams))
    except Exception:
        return []


class Recorder:
    """Writes the messages of one server's client to `path` (created, or truncated, with mode 0600)."""

    def __init__(self, server: Any, path: Path) -> None:
        self.server = server
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "w", encoding="utf-8")
        self._settings = self._parse(self._overrides(), {})
        self._fallback = self._redactor(self._settings, [])
        self._excluded: dict[str, bool] = {}
        self._write({"format": FORMAT, "version": VERSION, "started": time.time()})

    # -- which redactor applies --------------------------------------------------------------------
    def _overrides(self) -> dict[str, Any]:
        layers = getattr(self.server, "layers", None)
        return dict(getattr(layers, "overrides", {}) or {})

    @staticmethod
    def _parse(overrides: dict[str, Any], options: Any) -> Settings:
        try:
            return parse_settings({**(options if isinstance(options, dict) else {}), **overrides})
        except SettingsError:
            return parse_settings(overrides) if overrides else Settings()

    @staticmethod
    def _redactor(settings: Settings, roots: list[Path]) -> Redactor:
        return Redactor(settings.exclude_globs(), settings.respect_gitignore, settings.redact_secrets, roots)

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
        method, params = message.get("method"), message.get("params")
        if method == "initialize" and isinstance(params, dict):
            self._settings = self._parse(self._overrides(), params.get("initializationOptions"))
            self._fallback = self._redactor(self._settings, initialize_roots(params))
        redactor = self.redactor()
        line: dict[str, Any] = {"t": t, "message": message}
        route = protocol.ROUTE_BY_METHOD.get(method) if isinstance(method, str) else None
        if route is not None:
            try:
                item = route.input(params)
            except protocol.MalformedMessage:
                # The server ignores it too; its content is unknown, so none of it is kept.
                line.update(message={**message, "params": None}, malformed=True)
                self._write(line)
                return
            kept, excluded = self._strip_excluded(item, redactor)
            message = {**message, "params": route.params_json(kept)}
            if excluded:
                line["excluded"] = True
        line["message"] = redact_strings(message, redactor.redact)
        self._write(line)

    def _is_excluded(self, uri: str, redactor: Redactor) -> bool:
        if uri not in self._excluded:
            try:
                self._excluded[uri] = redactor.is_excluded(uri)
            except Exception:  # an unreadable path: keep nothing rather than too much
                log.exception("could not decide whether %s is excluded; dropping its content", uri)
                self._excluded[uri] = True
        return self._excluded[uri]

    def _strip_excluded(self, item: Input, redactor: Redactor) -> tuple[Input, bool]:
        """The input without the content of excluded files (a copy; the server's message is untouched)."""
        if isinstance(item, OpenInput) and item.uri:
            self._excluded.pop(item.uri, None)  # decide afresh on every open
            if self._is_excluded(item.uri, redactor):
                return item.model_copy(update={"text": line_structure(item.text or "")}), True
        elif isinstance(item, ChangeInput) and item.uri and self._is_excluded(item.uri, redactor):
            changes = [c.model_copy(update={"text": line_structure(c.text)}) for c in item.changes]
            return item.model_copy(update={"changes": changes}), True
        elif isinstance(item, SaveInput) and item.uri and self._is_excluded(item.uri, redactor):
            text = None if item.text is None else line_structure(item.text)
            return item.model_copy(update={"text": text}), True
        elif isinstance(item, CloseInput) and item.uri:
            self._excluded.pop(item.uri, None)
        elif isinstance(item, TerminalInput) and item.output:
            probe = TerminalCommand(time=0.0, command_line=item.command_line, output_tail="x")
            redacted = redactor.redact_event(probe)
            if redacted is not None and getattr(redacted, "output_tail", "x") == "":
                return item.model_copy(update={"output": ""}), True
        return item, False

    def close(self) -> None:
        self._file.close()


def attach_recorder(server: Any, path: Path) -> Recorder:
    """Record every message the server receives from its client to `path` (see the module doc).

    pygls decodes each message with ``json.loads(body, object_hook=protocol.structure_message)``;
    the top-level object (the one with ``"jsonrpc"``) reaches that hook last, as plain JSON, just
    before it is handled. The recorder wraps the hook, so it sees exactly what arrived, in order.
    A failure to record is logged and never stops the message from being handled.
    """
    lsp = server.protocol
    recorder = Recorder(server, path)
    structure = lsp.structure_message

    def structure_and_record(data: Any) -> Any:
        if isinstance(data, dict) and "jsonrpc" in data:
            try:
                recorder.record(data)
            except Exception:
                log.exception("could not record a message to %s", path)
        return structure(data)

    lsp.structure_message = structure_and_record
    return recorder


__all__ = ["FORMAT", "VERSION", "Recorder", "attach_recorder", "initialize_roots", "line_structure", "redact_strings"]
