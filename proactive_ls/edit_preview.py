"""What an edit will change, in full, before the user confirms it: the edited text and a unified diff.

An edit from a model is applied only once the user has seen it (``lsp/confirm.py``). For an editor
that has no preview of its own, the preview is this diff, made from the same document text the
edit's ranges were computed on; nothing is written anywhere to make it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any


def _index(line: str, utf16: int) -> int:
    """The str index of a UTF-16 column in `line` (a column past the end is the end)."""
    units = 0
    for i, ch in enumerate(line):
        if units >= utf16:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def apply_text_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """`text` with LSP TextEdits applied (0-based lines, UTF-16 columns); raises ValueError for a
    range outside the text or edits that overlap."""
    lines = text.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def offset(pos: dict[str, Any]) -> int:
        line, character = int(pos["line"]), int(pos["character"])
        if not 0 <= line < len(lines) or character < 0:
            raise ValueError(f"line {line + 1} is not in the document ({len(lines)} lines)")
        return starts[line] + _index(lines[line], character)

    spans = sorted((offset(e["range"]["start"]), offset(e["range"]["end"]), str(e["newText"])) for e in edits)
    out, at = [], 0
    for start, end, new in spans:
        if start < at or end < start:
            raise ValueError("the edits overlap")
        out += [text[at:start], new]
        at = end
    return "".join([*out, text[at:]])


def unified_diff(name: str, old: str, new: str, context: int = 3) -> str:
    """A unified diff of one document (``--- a/name`` / ``+++ b/name``), every line newline-terminated."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}", n=context
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def edited_uris(edit: dict[str, Any]) -> list[str]:
    """Every document a WorkspaceEdit touches (``changes`` and ``documentChanges``, renames both ends)."""
    uris = [str(uri) for uri in edit.get("changes") or {}]
    for change in edit.get("documentChanges") or []:
        if isinstance(change, dict):
            doc = change.get("textDocument")
            found = (doc.get("uri") if isinstance(doc, dict) else None, change.get("uri"))
            uris += [str(u) for u in (*found, change.get("oldUri"), change.get("newUri")) if u]
    return uris


def edit_diff(edit: dict[str, Any], text_of: Callable[[str], str | None], name_of: Callable[[str], str]) -> str:
    """The whole change a WorkspaceEdit (``changes``) makes, as one unified diff.

    ``text_of(uri)`` is the document's text the edit was made for; raises ValueError when a
    document's text is unknown or the edit has parts the diff cannot show (resource operations).
    """
    if edit.get("documentChanges"):
        raise ValueError("the edit has document changes that cannot be shown as a diff")
    parts: list[str] = []
    for uri, edits in (edit.get("changes") or {}).items():
        text = text_of(uri)
        if text is None:
            raise ValueError(f"the text of {name_of(uri)} is not known, so the edit cannot be shown")
        parts.append(unified_diff(name_of(uri), text, apply_text_edits(text, list(edits))))
    if not any(parts):
        raise ValueError("the edit changes nothing")
    return "".join(parts)


__all__ = ["apply_text_edits", "edit_diff", "edited_uris", "unified_diff"]
