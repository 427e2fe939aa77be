"""Memory: what the server keeps per document, measured as resident memory (never as time).

The figures are RSS of a real process: this one for the document tracker (real mirror, real
tree-sitter), the real server for many open documents. Their floor (a bare pygls server) is
measured beside them by ``proactive-ls bench perf``.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest

from proactive_ls.config import Settings
from proactive_ls.sensing.diagnostics import DiagnosticsState
from proactive_ls.sensing.documents import TREES_KEPT, Change, DocumentTracker

MIB = 1024 * 1024


def _rss(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _python_file(lines: int) -> str:
    body = []
    for i in range(lines):
        if i % 10 == 0:
            body.append(f"def function_{i}(value: int) -> int:")
        else:
            body.append(f"    value = value + {i}  # line {i}")
    return "\n".join(body) + "\n"


def _burst(tracker: DocumentTracker, uri: str, line: int, n: int) -> None:
    """Type a word at the start of a line, one character per change, then end the burst."""
    for column, char in enumerate("total"):
        tracker.change(uri, n, [Change(char, (line, 4 + column), (line, 4 + column))], now=float(n))
    tracker.change(uri, n, [Change("", (line, 4), (line, 9))], now=float(n))  # and take it back
    tracker.flush_all(now=float(n) + 1)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads RSS from /proc")
def test_rss_does_not_grow_over_1000_typing_bursts_on_a_10k_line_file() -> None:
    tracker = DocumentTracker(Settings(), [], DiagnosticsState())
    uri = "file:///bench/big.py"
    tracker.open(uri, "python", 1, _python_file(10_000), now=0.0)
    after_50 = 0
    for n in range(1, 1001):
        _burst(tracker, uri, 1 + (n * 37) % 9_000, n)
        if n == 50:
            gc.collect()
            after_50 = _rss()
    gc.collect()
    growth = _rss() - after_50
    doc = tracker.docs[uri]
    assert doc.syntax is not None and doc.definitions  # the structure was kept up to date all along
    assert growth < 5 * MIB, f"RSS grew by {growth / MIB:.1f} MiB between burst 50 and burst 1000"


def test_a_document_that_grows_past_the_limit_stops_being_parsed() -> None:
    settings = Settings(max_document_bytes=200_000)
    tracker = DocumentTracker(settings, [], DiagnosticsState())
    uri = "file:///bench/grows.py"
    tracker.open(uri, "python", 1, _python_file(1_000), now=0.0)
    paste = _python_file(3_000)  # about 100 kB per paste
    tracker.change(uri, 2, [Change(paste, (500, 0), (500, 0))], now=1.0)
    assert tracker.docs[uri].syntax is not None
    tracker.change(uri, 3, [Change(paste, (500, 0), (500, 0))], now=2.0)
    doc = tracker.docs[uri]
    assert doc.syntax is None and doc.mirror is None and doc.reason_untracked == "larger than 200000 bytes"
    [edited] = tracker.flush_all(now=3.0)  # the burst is still reported, without structure
    assert edited.kind == "document.edited" and edited.definitions == []
    tracker.change(uri, 4, [Change(_python_file(10))], now=4.0)  # back under the limit: tracked again
    assert tracker.docs[uri].syntax is not None and tracker.docs[uri].definitions


def test_a_document_only_opened_keeps_its_text_and_is_parsed_at_its_first_change() -> None:
    tracker = DocumentTracker(Settings(), [], DiagnosticsState())
    uri = "file:///bench/opened.py"
    text = _python_file(200)
    [opened] = tracker.open(uri, "python", 1, text, now=0.0)
    doc = tracker.docs[uri]
    assert opened.line_count == 200 and doc.size == len(text)
    assert doc.syntax is None and doc.definitions == [] and tracker.text(uri) == text
    # The first change breaks the file: the baseline is the text before it (clean), so the error is
    # the user's, reported once seen at two quiet points in a row; and one definition was added.
    tracker.change(uri, 2, [Change("def added(:\n    pass\n", (100, 0), (100, 0))], now=1.0)
    [edited] = tracker.flush_all(now=2.0)
    assert edited.added == ["function `added`"] and edited.removed == []  # type: ignore[attr-defined]
    assert doc.syntax is not None and doc.definitions
    tracker.change(uri, 3, [Change("x", (11, 80), (11, 80))], now=3.0)  # in a comment
    events = tracker.flush_all(now=4.0)
    assert [e.kind for e in events] == ["document.edited", "syntax.error"]
    assert events[1].line == 100  # type: ignore[attr-defined]


def test_an_error_a_document_was_opened_with_is_not_news_at_its_first_change() -> None:
    tracker = DocumentTracker(Settings(), [], DiagnosticsState())
    uri = "file:///bench/broken.py"
    tracker.open(uri, "python", 1, "def broken(:\n    pass\n" + _python_file(200), now=0.0)
    for n in range(2, 5):
        tracker.change(uri, n, [Change("x", (51 + n, 80), (51 + n, 80))], now=float(n))
        assert [e.kind for e in tracker.flush_all(now=n + 0.5)] == ["document.edited"]


def test_only_the_documents_used_last_keep_a_tree() -> None:
    tracker = DocumentTracker(Settings(), [], DiagnosticsState())
    uris = [f"file:///bench/m{i}.py" for i in range(TREES_KEPT + 3)]
    for n, uri in enumerate(uris):
        tracker.open(uri, "python", 1, _python_file(200), now=0.0)
        tracker.change(uri, 2, [Change(" ", (1, 0), (1, 0))], now=float(n))
        tracker.flush_all(now=float(n) + 0.5)
    with_trees = [u for u in uris if tracker.docs[u].syntax.has_tree]  # type: ignore[union-attr]
    assert with_trees == uris[-TREES_KEPT:]
    first = tracker.docs[uris[0]]
    before = [d.label for d in first.definitions]
    tracker.change(uris[0], 3, [Change("def added():\n    pass\n", (0, 0), (0, 0))], now=10.0)
    [edited] = tracker.flush_all(now=11.0)  # parsed again from scratch: the diff is still right
    assert edited.added == ["function `added`"] and edited.removed == []
    assert [d.label for d in first.definitions] == ["function `added`", *before]
    assert first.syntax is not None and first.syntax.has_tree
    assert not tracker.docs[uris[-TREES_KEPT]].syntax.has_tree  # type: ignore[union-attr]


def test_a_huge_paste_stops_the_structure_instead_of_blocking_the_server() -> None:
    """A burst that writes more than MAX_CHANGED_BYTES is not parsed; the edit is still reported."""
    from proactive_ls.sensing.syntax.document import MAX_CHANGED_BYTES

    tracker = DocumentTracker(Settings(), [], DiagnosticsState())
    uri = "file:///bench/paste.py"
    tracker.open(uri, "python", 1, _python_file(1_000), now=0.0)
    paste = _python_file(MAX_CHANGED_BYTES // 20 + 1_000)
    assert len(paste) > MAX_CHANGED_BYTES
    tracker.change(uri, 2, [Change(paste, (500, 0), (500, 0))], now=1.0)
    [edited] = tracker.flush_all(now=2.0)
    doc = tracker.docs[uri]
    assert edited.kind == "document.edited" and edited.lines_changed > 1_000
    assert doc.syntax is None and doc.definitions == [] and doc.mirror is not None  # the text is still kept
    tracker.change(uri, 3, [Change("x = 1\n", (0, 0), (0, 0))], now=3.0)  # later bursts cost nothing
    assert [e.kind for e in tracker.flush_all(now=4.0)] == ["document.edited"]
