"""Open documents: their text, their syntax tree, and the edit events they produce.

A burst of didChange in one document becomes one DocumentEdited event once the document has
been quiet for `edit_quiet_ms`. The per-change path only updates the mirror and tells the tree
what moved; parsing, definitions and syntax errors wait for the end of the burst.

Memory stays bounded: a document that is only opened keeps its text and nothing else (most
open documents are never edited); its structure (tree, definitions, the syntax errors it came
with) is made at its first change, from the text before that change. Only the documents edited
last keep a syntax tree (:data:`TREES_KEPT`; the others keep their definitions and are parsed
again from the mirror when next edited), and a document that grows past `maxDocumentBytes` by
its changes is untracked like one opened so.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proactive_ls.config import Settings
from proactive_ls.events import (
    DocumentClosed,
    DocumentEdited,
    DocumentOpened,
    DocumentSaved,
    EventBase,
    SyntaxErrorFound,
)
from proactive_ls.sensing.diagnostics import DiagnosticsState
from proactive_ls.sensing.mirror import DocumentMirror, EditSpan, Encoding
from proactive_ls.sensing.paths import display_path

if TYPE_CHECKING:
    from proactive_ls.sensing.syntax import Definition, SyntaxDocument, SyntaxIssue
    from proactive_ls.sensing.syntax.baseline import IntroducedErrors

log = logging.getLogger(__name__)

Position = tuple[int, int]

# Documents that keep their syntax tree: the ones opened or edited last. A tree costs about
# 40 times its text; a released document is parsed from scratch at the end of its next burst.
TREES_KEPT = 4


@dataclass(frozen=True, slots=True)
class Change:
    """One content change: a range replaced, or (range None) the whole text."""

    text: str
    start: Position | None = None
    end: Position | None = None


@dataclass
class _Burst:
    started: float
    first_line: int
    last_line: int
    deadline: float

    def include(self, span: EditSpan) -> None:
        delta = span.lines_added - span.lines_removed
        if self.last_line >= span.old_end_line:
            self.last_line += delta
        self.first_line = min(self.first_line, span.start_line)
        self.last_line = max(self.last_line, span.new_end_line, self.first_line)


@dataclass
class TrackedDocument:
    uri: str
    path: str
    language_id: str
    version: int
    mirror: DocumentMirror | None
    reason_untracked: str | None = None
    syntax: SyntaxDocument | None = None
    definitions: list[Definition] = field(default_factory=list)
    burst: _Burst | None = None
    reported_error: tuple[str, int, str | None] | None = None
    last_error: tuple[str, int, str | None] | None = None
    errors: IntroducedErrors | None = None
    """The errors the document came with (see syntax/baseline.py): only new ones are reported."""
    size: int = 0  # bytes of the text, kept up to date by the changes
    structured: bool = False
    """Its structure was made (at its first change, or when its text came back under the limit)."""


def _untrackable(text: str, limit: int) -> str | None:
    if len(text) > limit:
        return f"larger than {limit} bytes"
    if "\x00" in text[:8192]:
        return "binary"
    return None


class DocumentTracker:
    def __init__(
        self, settings: Settings, roots: list[Path], diagnostics: DiagnosticsState, encoding: Encoding = "utf-16"
    ) -> None:
        self.settings = settings
        self.roots = roots
        self.diagnostics = diagnostics
        self.encoding: Encoding = encoding
        self.docs: dict[str, TrackedDocument] = {}
        self._trees: OrderedDict[str, None] = OrderedDict()  # documents with a tree, last used last

    # -- lifecycle -----------------------------------------------------------------------------
    def open(self, uri: str, language_id: str, version: int, text: str, now: float) -> list[EventBase]:
        reason = _untrackable(text, self.settings.max_document_bytes)
        mirror = None if reason else DocumentMirror(text, self.encoding)
        doc = TrackedDocument(uri, display_path(uri, self.roots), language_id, version, mirror, reason)
        if reason:
            log.info("not tracking the content of %s: %s", doc.path, reason)
        else:
            assert mirror is not None
            doc.size = mirror.byte_length()  # no parse yet: that waits for the first change
        self.docs[uri] = doc
        lines = mirror.lines_of_text if mirror else 0
        return [DocumentOpened(time=now, uri=uri, path=doc.path, language_id=language_id, line_count=lines)]

    def _attach_syntax(self, doc: TrackedDocument) -> None:
        try:
            from proactive_ls.sensing.syntax import SyntaxDocument, language_for
        except ImportError:  # pragma: no cover - tree-sitter is a core dependency
            return
        assert doc.mirror is not None
        doc.size = doc.mirror.byte_length()
        language = language_for(doc.language_id, doc.path)
        if language is None:
            return
        from proactive_ls.sensing.syntax.document import TooMuchStructure

        try:
            doc.syntax = SyntaxDocument(language, doc.mirror)
            doc.definitions = doc.syntax.definitions()
        except TooMuchStructure as error:
            log.info("not following the structure of %s: %s", doc.path, error)
            doc.syntax = None
            return
        except Exception:
            log.exception("could not parse %s; continuing without structure", doc.path)
            doc.syntax = None
            return
        self._used(doc)

    def _structure(self, doc: TrackedDocument) -> None:
        """Parse a document's text for the first time: its definitions and the errors it has now are
        what its first burst is compared with."""
        if doc.structured or doc.mirror is None:
            return
        doc.structured = True
        self._attach_syntax(doc)
        self._remember_errors(doc)

    def _used(self, doc: TrackedDocument) -> None:
        """Mark a document's tree as used; release the trees of those least recently used."""
        self._trees[doc.uri] = None
        self._trees.move_to_end(doc.uri)
        while len(self._trees) > TREES_KEPT:
            uri, _ = self._trees.popitem(last=False)
            other = self.docs.get(uri)
            if other is not None and other.syntax is not None and other is not doc:
                other.syntax.release()

    def _untrack(self, doc: TrackedDocument, reason: str) -> None:
        log.info("no longer tracking the content of %s: %s", doc.path, reason)
        doc.mirror, doc.syntax, doc.reason_untracked, doc.size = None, None, reason, 0
        self._trees.pop(doc.uri, None)

    def _remember_errors(self, doc: TrackedDocument) -> None:
        if doc.syntax is None or doc.mirror is None:
            return
        from proactive_ls.sensing.syntax.baseline import IntroducedErrors

        language = doc.syntax.language
        doc.errors = IntroducedErrors(language, language in self.settings.syntax_error_languages)
        try:
            doc.errors.remember(doc.syntax, doc.mirror)
        except Exception:
            log.exception("syntax errors of %s could not be read", doc.path)

    def change(self, uri: str, version: int, changes: list[Change], now: float) -> float | None:
        """Apply changes; return the deadline of the document's edit burst."""
        doc = self.docs.get(uri)
        if doc is None:
            log.warning("change for a document that is not open: %s", uri)
            return None
        doc.version = version
        for change in changes:
            self._apply(doc, change, now)
        return doc.burst.deadline if doc.burst else None

    def _apply(self, doc: TrackedDocument, change: Change, now: float) -> None:
        deadline = now + self.settings.edit_quiet_ms / 1000
        if doc.mirror is None:
            if change.start is None and not _untrackable(change.text, self.settings.max_document_bytes):
                doc.mirror, doc.reason_untracked = DocumentMirror(change.text, self.encoding), None
                doc.structured = False
                self._structure(doc)
            self._extend_burst(doc, 0, 0, now, deadline)
            return
        self._structure(doc)  # the first change: the text before it is the document's baseline
        if change.start is None or change.end is None:
            reason = _untrackable(change.text, self.settings.max_document_bytes)
            if reason:
                self._untrack(doc, reason)
                self._extend_burst(doc, 0, 0, now, deadline)
                return
            doc.mirror.replace_all(change.text)
            doc.size = doc.mirror.byte_length()
            if doc.syntax is not None:
                self._attach_syntax(doc)
            self._extend_burst(doc, 0, max(doc.mirror.line_count - 1, 0), now, deadline)
            return
        span = doc.mirror.apply_change(change.start, change.end, change.text)
        doc.size += span.new_end_byte - span.old_end_byte
        if doc.size > self.settings.max_document_bytes:
            self._untrack(doc, f"larger than {self.settings.max_document_bytes} bytes")
            self._extend_burst(doc, span.start_line, span.new_end_line, now, deadline)
            return
        if doc.syntax is not None:
            doc.syntax.edit(span)
        if doc.burst is None:
            doc.burst = _Burst(now, span.start_line, span.new_end_line, deadline)
        else:
            doc.burst.include(span)
            doc.burst.deadline = deadline

    def _extend_burst(self, doc: TrackedDocument, first: int, last: int, now: float, deadline: float) -> None:
        if doc.burst is None:
            doc.burst = _Burst(now, first, last, deadline)
        else:
            doc.burst.first_line = min(doc.burst.first_line, first)
            doc.burst.last_line = max(doc.burst.last_line, last)
            doc.burst.deadline = deadline

    def save(self, uri: str, text: str | None, now: float) -> list[EventBase]:
        doc = self.docs.get(uri)
        if doc is None:
            return [
                DocumentSaved(
                    time=now, uri=uri, path=display_path(uri, self.roots), errors=len(self.diagnostics.errors(uri))
                )
            ]
        events = self._flush(doc, now, persisted_only=False)
        if text is not None and doc.mirror is not None and text != doc.mirror.text:
            self._structure(doc)
            doc.mirror.replace_all(text)
            self._attach_syntax(doc)
        events.append(DocumentSaved(time=now, uri=uri, path=doc.path, errors=len(self.diagnostics.errors(uri))))
        issue = self._first_syntax_error(doc)
        if issue is not None:
            events.append(self._syntax_event(doc, issue, now, on_save=True))
        return events

    def close(self, uri: str, now: float) -> list[EventBase]:
        doc = self.docs.pop(uri, None)
        if doc is None:
            return []
        self._trees.pop(uri, None)
        events = self._flush(doc, now, persisted_only=True)
        events.append(DocumentClosed(time=now, uri=uri, path=doc.path))
        return events

    # -- bursts --------------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        return min((d.burst.deadline for d in self.docs.values() if d.burst), default=None)

    async def flush_due(self, now: float) -> list[EventBase]:
        events: list[EventBase] = []
        for doc in list(self.docs.values()):
            if doc.burst is not None and doc.burst.deadline <= now:
                events.extend(self._flush(doc, now, persisted_only=True))
        return events

    def flush_all(self, now: float) -> list[EventBase]:
        events: list[EventBase] = []
        for doc in list(self.docs.values()):
            events.extend(self._flush(doc, now, persisted_only=True))
        return events

    def _flush(self, doc: TrackedDocument, now: float, persisted_only: bool) -> list[EventBase]:
        burst, doc.burst = doc.burst, None
        if burst is None:
            return []
        labels: list[str] = []
        added: list[str] = []
        removed: list[str] = []
        renamed: list[tuple[str, str]] = []
        if doc.syntax is not None:
            from proactive_ls.sensing.syntax import diff_definitions
            from proactive_ls.sensing.syntax.document import TooMuchStructure

            try:
                doc.syntax.reparse()
                self._used(doc)
                after = doc.syntax.definitions()
                added, removed, renamed = diff_definitions(doc.definitions, after)
                doc.definitions = after
                labels = [d.label for d in doc.syntax.enclosing(burst.first_line, burst.last_line)]
            except TooMuchStructure as error:  # bounded work: stop following this document's structure
                log.info("no longer following the structure of %s: %s", doc.path, error)
                doc.syntax, doc.definitions, doc.errors = None, [], None
                self._trees.pop(doc.uri, None)
            except Exception:
                log.exception("structure of %s could not be updated", doc.path)
        events: list[EventBase] = [
            DocumentEdited(
                time=now,
                uri=doc.uri,
                path=doc.path,
                lines_changed=burst.last_line - burst.first_line + 1,
                first_line=burst.first_line,
                last_line=burst.last_line,
                definitions=labels,
                added=added,
                removed=removed,
                renamed=renamed,
            )
        ]
        issue = self._first_syntax_error(doc)
        if issue is None:
            doc.last_error = doc.reported_error = None
        elif persisted_only:
            # An error seen at two quiet points in a row is not a half-typed line.
            # Identified by the line's text, not its number: edits above an error move it.
            key = self._error_key(doc, issue)
            if key == doc.last_error and key != doc.reported_error:
                events.append(self._syntax_event(doc, issue, now, on_save=False))
            doc.last_error = key
        return events

    def _first_syntax_error(self, doc: TrackedDocument) -> tuple[int, int] | None:
        issues = self._introduced_errors(doc)
        return (issues[0].line, issues[0].column) if issues else None

    def _introduced_errors(self, doc: TrackedDocument) -> list[SyntaxIssue]:
        """The document's syntax errors that it did not come with, first first."""
        if doc.syntax is None or doc.mirror is None or doc.errors is None:
            return []
        try:
            issues = doc.errors.introduced(doc.syntax, doc.mirror)  # parses a released document again
            self._used(doc)
            return issues
        except Exception:
            log.exception("syntax errors of %s could not be read", doc.path)
            return []

    def _error_key(self, doc: TrackedDocument, issue: tuple[int, int]) -> tuple[str, int, str | None]:
        assert doc.mirror is not None
        issues = self._introduced_errors(doc)
        return (doc.mirror.line_text(issue[0]).strip(), issue[1], issues[0].missing if issues else None)

    def _syntax_event(
        self, doc: TrackedDocument, issue: tuple[int, int], now: float, on_save: bool
    ) -> SyntaxErrorFound:
        doc.reported_error = self._error_key(doc, issue)
        issues = self._introduced_errors(doc)
        return SyntaxErrorFound(
            time=now,
            uri=doc.uri,
            path=doc.path,
            line=issue[0],
            column=issue[1],
            count=max(len(issues), 1),
            on_save=on_save,
            missing=issues[0].missing if issues else None,
        )

    def text(self, uri: str) -> str | None:
        doc = self.docs.get(uri)
        return doc.mirror.text if doc and doc.mirror else None

    def info(self) -> dict[str, Any]:
        return {
            uri: {
                "version": d.version,
                "lines": d.mirror.line_count if d.mirror else None,
                "untracked": d.reason_untracked,
            }
            for uri, d in self.docs.items()
        }
