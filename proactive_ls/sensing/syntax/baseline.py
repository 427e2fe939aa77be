"""Which syntax errors the user introduced, as opposed to the ones the file came with.

A grammar that cannot parse some valid construct (a macro, newer syntax) reports an error in a
file that compiles, and a file may be opened broken on purpose: neither is news to the user. So
each document remembers the lines its errors covered when it was opened; an error on one of those
lines is never proposed. Once the document parses clean, the memory is dropped: from then on,
every error is one the user typed. Python's own parser is in-process and cheap, so a Python error
is confirmed by ``compile`` and placed where CPython names it; a misparse there says nothing.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from proactive_ls.sensing.mirror import DocumentMirror, units_from_index
from proactive_ls.sensing.syntax.document import SyntaxDocument
from proactive_ls.sensing.syntax.errors import SyntaxIssue

__all__ = ["IntroducedErrors", "python_issue"]

_SPAN_LINES = 50
"""At most this many lines of one old error are remembered (tree-sitter may wrap a whole block)."""


def python_issue(mirror: DocumentMirror) -> SyntaxIssue | None:
    """Where CPython's parser stops on the document, or None when it parses (or cannot say)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(mirror.text)
    except SyntaxError as error:
        if not error.lineno:
            return None
        line = min(max(error.lineno - 1, 0), max(mirror.line_count - 1, 0))
        text = mirror.line_text(line)
        index = min(max((error.offset or 1) - 1, 0), len(text))
        end = (error.end_lineno or error.lineno) - 1
        return SyntaxIssue(line, units_from_index(text, index, mirror.encoding), end_line=max(end, line))
    except (ValueError, RecursionError, MemoryError):  # NUL bytes, absurd nesting: no verdict
        return None
    return None


@dataclass
class IntroducedErrors:
    """One document's memory of the errors it came with, and the filter that uses it."""

    language: str
    enabled: bool
    known: frozenset[str] = field(default_factory=frozenset)

    def current(self, syntax: SyntaxDocument, mirror: DocumentMirror, limit: int = 20) -> list[SyntaxIssue]:
        """The document's errors now, the compiler's verdict where we have one (in document order)."""
        issues = syntax.syntax_errors(limit=limit)
        if issues and self.language == "python":
            confirmed = python_issue(mirror)
            issues = [confirmed] if confirmed is not None else []
        return issues

    def remember(self, syntax: SyntaxDocument, mirror: DocumentMirror) -> None:
        """Take the document's present errors as the ones it came with (at open)."""
        self.known = _covered(self.current(syntax, mirror), mirror)

    def introduced(self, syntax: SyntaxDocument, mirror: DocumentMirror) -> list[SyntaxIssue]:
        """The errors that are new since the document was opened or last parsed clean."""
        if not self.enabled:
            return []
        issues = self.current(syntax, mirror)
        if not issues:
            self.known = frozenset()  # a clean state: every later error is the user's
            return []
        if not self.known:
            return issues
        return [i for i in issues if _key(mirror, i.line) not in self.known]


def _key(mirror: DocumentMirror, line: int) -> str:
    return mirror.line_text(line).strip() if line < mirror.line_count else ""


def _covered(issues: Sequence[SyntaxIssue], mirror: DocumentMirror) -> frozenset[str]:
    texts: set[str] = set()
    for issue in issues:
        last = min(max(issue.end_line, issue.line), issue.line + _SPAN_LINES, mirror.line_count - 1)
        texts.update(_key(mirror, n) for n in range(issue.line, last + 1))
    texts.discard("")
    return frozenset(texts)
