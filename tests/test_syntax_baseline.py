"""Only errors the user introduced are reported, where the language's compiler names them."""

from __future__ import annotations

from pathlib import Path

from proactive_ls.config import Settings
from proactive_ls.events import EventBase
from proactive_ls.sensing.diagnostics import DiagnosticsState
from proactive_ls.sensing.documents import Change, DocumentTracker
from proactive_ls.sensing.mirror import DocumentMirror
from proactive_ls.sensing.syntax.baseline import python_issue

ROOT = Path("/work/app")


def tracker(**settings: object) -> DocumentTracker:
    return DocumentTracker(Settings.model_validate(settings), [ROOT], DiagnosticsState())


def errors(events: list[EventBase]) -> list[tuple[int, int]]:
    return [(e.line, e.column) for e in events if e.kind == "syntax.error"]  # type: ignore[attr-defined]


def edit(t: DocumentTracker, uri: str, at: float, line: int, text: str) -> list[EventBase]:
    """Insert ``text`` at the start of ``line`` and save."""
    t.change(uri, int(at), [Change(text, (line, 0), (line, 0))], at)
    return t.save(uri, None, at + 1)


BROKEN_AT_OPEN = "def f(a):\n    return a +\n\n\ndef g():\n    return 2\n"


def test_an_error_the_file_was_opened_with_is_never_proposed() -> None:
    t = tracker()
    uri = (ROOT / "old.py").as_uri()
    t.open(uri, "python", 1, BROKEN_AT_OPEN, 0.0)
    assert errors(t.save(uri, None, 1.0)) == []
    assert errors(edit(t, uri, 2, 5, "# a comment elsewhere\n")) == []
    assert errors(edit(t, uri, 4, 0, "import os\n")) == []  # the old error moved down a line
    assert errors(t.save(uri, None, 6.0)) == []


def test_a_new_error_in_a_file_that_came_broken_is_proposed() -> None:
    t = tracker()
    uri = (ROOT / "old.py").as_uri()
    t.open(uri, "python", 1, BROKEN_AT_OPEN, 0.0)
    assert errors(edit(t, uri, 2, 0, "x = [1,\n")) == [(0, 4)]  # CPython: "'[' was never closed"


def test_after_a_clean_state_every_error_is_the_users() -> None:
    t = tracker()
    uri = (ROOT / "old.py").as_uri()
    t.open(uri, "python", 1, BROKEN_AT_OPEN, 0.0)
    t.change(uri, 2, [Change("    return a + 1\n", (1, 0), (2, 0))], 2.0)  # the user fixes it
    assert errors(t.flush_all(3.0)) == []
    t.change(uri, 3, [Change("    return a +\n", (1, 0), (2, 0))], 4.0)  # and breaks it again
    assert errors(t.save(uri, None, 5.0)) == [(1, 14)]


UNCLOSED_IN_METHOD = (
    "import os\n\n\nclass A:\n    def f(self, x):\n        if x:\n            y = 1\n"
    "        total = sum(\n            [1, 2, 3]\n        for i in range(3):\n            print(i)\n"
    "        return total\n\n    def g(self):\n        return 2\n"
)


def test_a_python_error_is_where_cpython_names_it() -> None:
    """tree-sitter wraps the whole file in an ERROR from line 1; CPython names the '(' on line 8."""
    t = tracker()
    uri = (ROOT / "m.py").as_uri()
    t.open(uri, "python", 1, "x = 1\n", 0.0)
    t.change(uri, 2, [Change(UNCLOSED_IN_METHOD, None, None)], 1.0)
    assert errors(t.save(uri, None, 2.0)) == [(7, 19)]
    try:
        compile(UNCLOSED_IN_METHOD, "m.py", "exec")
    except SyntaxError as e:
        assert (e.lineno, e.offset) == (8, 20)


def test_python_issue_is_none_for_valid_code_and_utf16_for_columns() -> None:
    assert python_issue(DocumentMirror("def f():\n    return 1\n")) is None
    issue = python_issue(DocumentMirror("s = '😀'; x = (1 +\n"))
    assert issue is not None and (issue.line, issue.column) == (0, 14)  # "(" is character 13; the emoji is two units


def test_languages_that_misparse_valid_code_are_off_by_default() -> None:
    text = "export function f(): number {\n  return 1;\n}\n"
    broken = "const x = (1 + ;\n"
    for settings, expected in (({}, []), ({"syntaxErrorLanguages": ["typescript"]}, [(0, 8)])):
        t = tracker(**settings)
        uri = (ROOT / "a.ts").as_uri()
        t.open(uri, "typescript", 1, text, 0.0)
        t.change(uri, 2, [Change(broken, (3, 0), (3, 0))], 1.0)
        assert errors(t.save(uri, None, 2.0)) == [(r + 3, c) for r, c in expected]
