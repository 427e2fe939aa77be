"""`serve --record`: every message the client sends, timestamped and redacted, as JSON Lines.

The file starts with a header line ``{"format": "proactive-ls/recording", "version": 1, "started": <unix>}``;
then one line per message received, in arrival order: ``{"t": <unix seconds>, "message": <JSON-RPC>}``
(``"excluded": true`` is added when the message's document content was dropped).

What is kept follows the event history's rules (proactive_ls/sensing/redaction/):

* every string is passed through the secret redactor (tokens, keys, passwords become ``[REDACTED:kind]``);
* the text of an excluded file (the ``exclude`` globs, gitignored files) never enters the file:
  in didOpen / didChange / didSave of such a document each text keeps only its line breaks, so the
  line structure (what the history keeps of such a file) survives and nothing else;
* the output of a terminal command that names an excluded file (``cat .env``) is dropped;
* the redactor sees whole documents, not keystrokes: the recorder mirrors each open document, and
  the didChange messages of one edit burst (until ``editQuietMs`` passes, or any other message
  arrives) are written as one didChange: the smallest range change from the redacted text before
  the burst to the redacted text after it (so a replay sees the same edit, on redacted text).
  ``"coalesced": n`` says how many messages the line stands for;
* the line being typed is held back: the line of the last change, from its start to the cursor
  (at most :data:`HELD_LINE_CHARS`), is left out of the recorded text until the cursor leaves it (a line
  break typed, an edit on another line). A secret typed with pauses, even longer than
  ``editQuietMs``, or a passphrase typed word by word, is therefore written only once its line is
  done, and then redacted with the whole document around it: no recorded line holds a part of it,
  and joining them rebuilds none of it. A didSave's text is written as the recording has the
  document (the held line left out too);
* a long burst is written every :data:`FLUSH_EVERY_S` seconds (or four times what the last write
  took, for a document so large that its redaction is slow), so a server killed without a
  ``shutdown`` (SIGKILL, a crash) loses at most the changes of that last interval and the held
  line; nothing is ever written unredacted. Each line is flushed when written, so a crash loses at
  most the message being written.

:func:`proactive_ls.replay.loaders.recording_as_session` turns a recording into a replay session
(docs/replay-format.md), so ``proactive-ls replay`` runs it through the engine or the server again.

Messages that carry an input are read with the protocol's table (``proactive_ls.lsp.protocol``),
so what is dropped from them is decided on the input, and written back with the same table.
"""

from __future__ import annotations

import asyncio
import functools
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
from proactive_ls.sensing.mirror import DocumentMirror, split_lines
from proactive_ls.sensing.redaction import Redactor

log = logging.getLogger(__name__)

FORMAT = "proactive-ls/recording"
VERSION = 1

# A burst still being typed is written at least this often: what a kill can lose. Shorter than the
# default editQuietMs, so a replay of a long burst sees changes as close together as the live one.
FLUSH_EVERY_S = 0.5

# How far back the held line (the line of the cursor, up to it) reaches: a secret is shorter; a
# minified file's one line must not hold back the whole document.
HELD_LINE_CHARS = 2048


def line_structure(text: str) -> str:
    """Only the line breaks of `text`: what is kept of an excluded document's content."""
    return "".join(ch for ch in text if ch in "\r\n")


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32" or text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _position(text: str, offset: int, encoding: str) -> dict[str, int]:
    """The LSP position of `offset` in `text` (line breaks \n, \r\n, \r)."""
    head = text[:offset]
    lines = split_lines(head)
    return {"line": len(lines) - 1, "character": _units(lines[-1], encoding)}


def minimal_change(before: str, after: str, encoding: str = "utf-16") -> dict[str, Any]:
    """One range change that turns `before` into `after`: their common start and end are kept."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    if 0 < prefix < len(before) and before[prefix - 1] == "\r" and before[prefix] == "\n":
        prefix -= 1  # never split a \r\n: the position between them does not exist
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    end = len(before) - suffix
    if 0 < end < len(before) and before[end - 1] == "\r" and before[end] == "\n":
        end += 1
        suffix -= 1
    rng = {"start": _position(before, prefix, encoding), "end": _position(before, end, encoding)}
    return {"range": rng, "text": after[prefix : len(after) - suffix]}


def held_line(text: str, cursor: int) -> tuple[int, int]:
    """The line of `cursor` in `text` up to the cursor (what is being typed), at most HELD_LINE_CHARS.

    The text after the cursor was there before (it is in the recording already): holding it back
    would show it deleted to a replay.
    """
    cursor = max(0, min(cursor, len(text)))
    low = max(0, cursor - HELD_LINE_CHARS)
    before = max(text.rfind("\n", low, cursor), text.rfind("\r", low, cursor))
    return (before + 1 if before >= 0 else low), cursor


def _index(line: str, byte_column: int) -> int:
    """The string index of a UTF-8 byte column of `line`."""
    if line.isascii():
        return byte_column
    return len(line.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))


def redact_strings(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in a JSON value passed through `redact` (keys are left alone)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_strings(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_strings(v, redact) for v in value]
    return value


# Built once: making lsprotocol's converter costs 14 ms, and a replay reads one initialize per file.
_converter = functools.cache(protocol.converter)


def initialize_roots(params: dict[str, Any]) -> list[Path]:
    """The workspace roots of an initialize message as JSON (none if it does not parse)."""
    try:
        data = {"processId": None, "capabilities": {}, **params}
        return protocol.workspace_roots(_converter().structure(data, types.InitializeParams))
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
        self._mirrors: dict[str, DocumentMirror] = {}  # the open documents' text, as the client has it
        self._written: dict[str, str] = {}  # uri -> the document's text as the recording has it (redacted)
        self._held: dict[str, tuple[float, int, int]] = {}  # uri -> (last change's time, version, messages)
        self._cursor: dict[str, tuple[int, int]] = {}  # uri -> (line, string index) after its last change
        self._timer: asyncio.TimerHandle | None = None  # the end of the burst: editQuietMs after its last change
        self._every: asyncio.TimerHandle | None = None  # FLUSH_EVERY_S after the first change not written
        self._flush_cost = 0.0  # seconds the last flush took (redacting whole documents)
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
        if method != "textDocument/didChange":
            self.flush()  # the burst ends before anything else is written: the order stays
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
            if not excluded and self._mirror(kept, t):
                return  # held: written as the whole redacted text when the burst ends
            if not excluded and isinstance(kept, SaveInput) and kept.text is not None and kept.uri in self._written:
                kept = kept.model_copy(update={"text": self._written[kept.uri]})  # the held line stays out
            message = {**message, "params": route.params_json(kept)}
            if excluded:
                line["excluded"] = True
        line["message"] = redact_strings(message, redactor.redact)
        self._write(line)

    # -- whole documents -----------------------------------------------------------------------
    def _encoding(self) -> Any:
        try:
            return protocol.position_encoding(self.server.workspace.position_encoding)
        except Exception:
            return "utf-16"

    def _mirror(self, item: Input, t: float) -> bool:
        """Follow the document's text; True when the message is held (a change to a mirrored document)."""
        if isinstance(item, OpenInput) and item.uri:
            self._mirrors[item.uri] = DocumentMirror(item.text or "", self._encoding())
            self._written[item.uri] = self.redactor().redact(item.text or "")  # what the didOpen line holds
        elif isinstance(item, CloseInput) and item.uri:
            self._mirrors.pop(item.uri, None)
            self._written.pop(item.uri, None)
            self._cursor.pop(item.uri, None)
        elif isinstance(item, ChangeInput) and item.uri and (mirror := self._mirrors.get(item.uri)) is not None:
            for change in item.changes:
                c = change.change()
                if c.start is None or c.end is None:
                    self._cursor[item.uri] = self._replace_all(mirror, c.text)
                else:
                    span = mirror.apply_change(c.start, c.end, c.text)
                    row = span.new_end_line
                    self._cursor[item.uri] = (row, _index(mirror.lines[row], span.new_end_point[1]))
            held = self._held.get(item.uri)
            self._held[item.uri] = (t, item.version, (held[2] if held else 0) + 1)
            self._arm()
            return True
        return False

    @staticmethod
    def _replace_all(mirror: DocumentMirror, text: str) -> tuple[int, int]:
        """Replace the whole text; the cursor is where the new text stops matching the old from the end."""
        old = mirror.text
        limit = min(len(old), len(text))
        prefix = 0
        while prefix < limit and old[prefix] == text[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and old[-1 - suffix] == text[-1 - suffix]:
            suffix += 1
        mirror.replace_all(text)
        lines = split_lines(text[: len(text) - suffix])
        return len(lines) - 1, len(lines[-1])

    def _arm(self) -> None:
        """Flush once the user has paused typing (the same pause that ends an edit burst), and at least
        every FLUSH_EVERY_S while the burst goes on."""
        if self._timer is not None:
            self._timer.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a direct call): the next message or close() flushes
        self._timer = loop.call_later(self._settings.edit_quiet_ms / 1000, self._flush_safely)
        if self._every is None:
            # A large document costs its redaction at every flush: at most a fifth of the time goes to it.
            self._every = loop.call_later(max(FLUSH_EVERY_S, 4 * self._flush_cost), self._flush_safely)

    def _flush_safely(self) -> None:
        try:
            self.flush()
        except Exception:
            log.exception("could not record the end of an edit burst to %s", self.path)

    def flush(self) -> None:
        """Write every held burst as one didChange carrying the document's whole text, redacted."""
        for timer in (self._timer, self._every):
            if timer is not None:
                timer.cancel()
        self._timer = self._every = None
        held, self._held = self._held, {}
        if not held:
            return
        started = time.perf_counter()
        redactor = self.redactor()
        for uri, (t, version, count) in held.items():
            mirror = self._mirrors.get(uri)
            if mirror is None:
                continue
            before = self._written.get(uri, "")
            after = redactor.redact(self._without_held_line(uri, mirror))
            self._written[uri] = after
            change = minimal_change(before, after, mirror.encoding)
            if after == before and (cursor := self._cursor.get(uri)) is not None:
                # All of the burst is on the held line: an empty change on that line, not at the end.
                at = {"line": min(cursor[0], len(split_lines(after)) - 1), "character": 0}
                change = {"range": {"start": at, "end": at}, "text": ""}
            params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}
            message = {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params}
            self._write({"t": t, "message": message, "coalesced": count})
        self._flush_cost = time.perf_counter() - started

    def _without_held_line(self, uri: str, mirror: DocumentMirror) -> str:
        """The document's text without the line of its cursor (see the module doc)."""
        text = mirror.text
        cursor = self._cursor.get(uri)
        if cursor is None:
            return text
        row, index = cursor
        if row >= len(mirror.lines):
            return text
        offset = sum(len(line) for line in mirror.lines[:row]) + min(index, len(mirror.lines[row]))
        start, end = held_line(text, offset)
        return text[:start] + text[end:]

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
        self.flush()
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


__all__ = [
    "FLUSH_EVERY_S",
    "FORMAT",
    "HELD_LINE_CHARS",
    "VERSION",
    "Recorder",
    "held_line",
    "attach_recorder",
    "initialize_roots",
    "line_structure",
    "redact_strings",
]
