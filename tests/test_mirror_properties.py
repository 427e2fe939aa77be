"""Random incremental edits keep the mirror and the syntax tree identical to starting over.

The reference applies each LSP edit to a plain string, converting (line, UTF-16 character) with
nothing cleverer than encoding the line as UTF-16; the syntax tree is compared with a parse of
the final text from scratch (S-expression, every node's type and byte range, and its points
when the rows of LSP and tree-sitter agree). tree-sitter's error recovery may legitimately
depend on the old tree; for text with errors the tree may instead equal tree-sitter's own
incremental parse with edits computed from the reference.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Node, Parser

from proactive_ls.sensing.mirror import DocumentMirror, split_lines
from proactive_ls.sensing.syntax import SyntaxDocument, load_language

# -- the reference -------------------------------------------------------------------------------


def ref_lines(text: str) -> list[str]:
    """LSP lines with their endings (\\r\\n, \\r or \\n); the last one may be empty."""
    parts = re.split(r"(\r\n|\r|\n)", text)
    return [parts[i] + (parts[i + 1] if i + 1 < len(parts) else "") for i in range(0, len(parts), 2)]


def ref_content(line: str) -> str:
    return re.sub(r"(\r\n|\r|\n)$", "", line)


def ref_offset(text: str, line: int, character: int) -> int:
    """String index of an LSP position: past the last line is the end, past a line's end is its end."""
    lines = ref_lines(text)
    if line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[:line])
    content = ref_content(lines[line])
    utf16 = content.encode("utf-16-le")[: 2 * character]
    return start + len(utf16.decode("utf-16-le"))


def ref_apply(text: str, start: tuple[int, int], end: tuple[int, int], new: str) -> str:
    a, b = ref_offset(text, *start), ref_offset(text, *end)
    a, b = min(a, b), max(a, b)
    return text[:a] + new + text[b:]


# -- what to type --------------------------------------------------------------------------------

PIECES = {
    "python": [
        "a",
        "b1",
        " ",
        "    ",
        "é",
        "中文",
        "😀",
        "\r",
        "\n",
        "\r\n",
        "\t",
        "def ",
        "class ",
        "(",
        ")",
        ":",
        "x = 1",
        '"',
        "'''",
        "#",
        "return ",
        "@dec",
        "async ",
        "[",
        "]",
        ",",
        "pass",
    ],
    "javascript": [
        "a",
        "b1",
        " ",
        "é",
        "中文",
        "😀",
        "\r",
        "\n",
        "\r\n",
        "\t",
        "function ",
        "class ",
        "{",
        "}",
        "(",
        ")",
        "=>",
        "const f = ",
        ";",
        "`",
        "'",
        "/*",
        "*/",
        "//",
        "return ",
        "x",
        "<div>",
    ],
}
SEEDS = {
    "python": [
        "import os\r\n\nclass A:\n    def m(self, s='é😀'):\n        return s\n\n\ndef f():\r    pass\n",
        "".join(f"def f{i}(x):\n    return x + {i}  # é\n\n" for i in range(8)),
    ],
    "javascript": [
        "const a = (x) => x;\r\nclass B {\n  m() { return '😀中'; }\n}\rfunction g() {\n  return 1;\n}\n",
        "".join(f"function f{i}(x) {{\n  return x + {i}; // é\n}}\n" for i in range(8)),
    ],
}


def text_of(language: str) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(PIECES[language]), max_size=12).map("".join)


@st.composite
def position(draw: st.DrawFn, text: str) -> tuple[int, int]:
    """A position on a UTF-16 boundary of a line, sometimes past its end or past the last line."""
    lines = ref_lines(text)
    line = draw(st.integers(0, len(lines)))
    if line == len(lines):
        return line, draw(st.integers(0, 3))
    content = ref_content(lines[line])
    boundaries = [0]
    for ch in content:
        boundaries.append(boundaries[-1] + (2 if ord(ch) > 0xFFFF else 1))
    if draw(st.integers(0, 5)) == 0:
        return line, boundaries[-1] + draw(st.integers(1, 3))
    return line, draw(st.sampled_from(boundaries))


@st.composite
def scenario(draw: st.DrawFn, language: str) -> tuple[str, list[list[tuple[tuple[int, int], tuple[int, int], str]]]]:
    """An initial text and batches of edits; each batch is followed by one reparse."""
    text = draw(st.one_of(st.just(""), st.sampled_from(SEEDS[language]), text_of(language)))
    initial = text
    batches = []
    for _ in range(draw(st.integers(1, 4))):
        batch = []
        for _ in range(draw(st.integers(1, 4))):
            a, b = draw(position(text)), draw(position(text))
            if ref_offset(text, *b) < ref_offset(text, *a):
                a, b = b, a
            new = draw(text_of(language))
            at = ref_offset(text, *a)
            if at < len(text) and text[at] not in "\r\n" and draw(st.integers(0, 2)) == 0:
                # retype one character: nothing moves, and a name may change
                b = (a[0], a[1] + (2 if ord(text[at]) > 0xFFFF else 1))
                new = draw(st.sampled_from("xyz_("))
            batch.append((a, b, new))
            text = ref_apply(text, a, b, new)
        batches.append(batch)
    return initial, batches


# -- comparisons ---------------------------------------------------------------------------------


def nodes(node: Node) -> list[tuple[str, int, int, tuple[int, int], tuple[int, int]]]:
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        out.append((n.type, n.start_byte, n.end_byte, tuple(n.start_point), tuple(n.end_point)))
        stack.extend(reversed(n.children))
    return out


def check_mirror(mirror: DocumentMirror, text: str) -> None:
    assert mirror.text == text
    assert mirror.lines == ref_lines(text)
    assert mirror.line_count == len(ref_lines(text))
    lines = ref_lines(text)
    for i in range(len(lines)):
        assert mirror.line_start_byte(i) == len("".join(lines[:i]).encode("utf-8"))
    assert mirror.byte_length() == len(text.encode("utf-8"))


def has_lone_cr(text: str) -> bool:
    return re.search(r"\r(?!\n)", text) is not None


def ts_point(text: str, index: int) -> tuple[int, int]:
    """tree-sitter's point of a string index: rows end at LF only, columns count bytes."""
    head = text[:index]
    return head.count("\n"), len(head[head.rfind("\n") + 1 :].encode("utf-8"))


class Oracle:
    """tree-sitter's own incremental parse, fed whole byte strings and edits computed from the
    reference: what the mirror's spans and read callback must reproduce."""

    def __init__(self, language: str, text: str) -> None:
        self.parser = Parser(load_language(language))
        self.text = text
        self.tree = self.parser.parse(text.encode("utf-8"))

    def apply(self, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        old = self.text
        a, b = sorted((ref_offset(old, *start), ref_offset(old, *end)))
        self.text = old[:a] + new + old[b:]
        start_byte = len(old[:a].encode("utf-8"))
        self.tree.edit(
            start_byte,
            len(old[:b].encode("utf-8")),
            start_byte + len(new.encode("utf-8")),
            ts_point(old, a),
            ts_point(old, b),
            ts_point(self.text, a + len(new)),
        )

    def reparse(self) -> None:
        self.tree = self.parser.parse(self.text.encode("utf-8"), self.tree)


def check_tree(doc: SyntaxDocument, oracle: Oracle, language: str, text: str) -> None:
    """The tree equals a parse from scratch; where tree-sitter's error recovery makes its own
    incremental parse differ from that, it equals tree-sitter's own incremental parse."""
    fresh = Parser(load_language(language)).parse(text.encode("utf-8"))
    ours = nodes(doc.tree.root_node)
    same_as_fresh = str(doc.tree.root_node) == str(fresh.root_node)
    reference = fresh if same_as_fresh else oracle.tree
    if not same_as_fresh:
        assert fresh.root_node.has_error, "only error recovery may depend on the old tree"
        assert str(doc.tree.root_node) == str(oracle.tree.root_node)
    theirs = nodes(reference.root_node)
    if has_lone_cr(text):  # tree-sitter's rows then differ from LSP lines; bytes must still agree
        ours, theirs = [n[:3] for n in ours], [n[:3] for n in theirs]
    assert ours == theirs
    if same_as_fresh:
        again = SyntaxDocument(language, DocumentMirror(text))
        assert doc.definitions() == again.definitions()
        assert doc.syntax_errors() == again.syntax_errors()


def run(language: str, initial: str, batches: list[list[tuple[tuple[int, int], tuple[int, int], str]]]) -> None:
    mirror = DocumentMirror(initial)
    doc = SyntaxDocument(language, mirror)
    oracle = Oracle(language, initial)
    text = initial
    for batch in batches:
        for start, end, new in batch:
            span = mirror.apply_change(start, end, new)
            doc.edit(span)
            oracle.apply(start, end, new)
            text = ref_apply(text, start, end, new)
            assert mirror.text == text == oracle.text
            assert span.new_end_byte - span.start_byte == len(new.encode("utf-8"))
        check_mirror(mirror, text)
        doc.reparse()
        oracle.reparse()
        check_tree(doc, oracle, language, text)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenario("python"))
def test_python_edits_match_a_fresh_parse(case: tuple[str, list]) -> None:
    run("python", *case)


@PROPERTY
@given(scenario("javascript"))
def test_javascript_edits_match_a_fresh_parse(case: tuple[str, list]) -> None:
    run("javascript", *case)


# -- cases worth naming --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "edits"),
    [
        ("", [((0, 0), (0, 0), "def f():\n    pass\n")]),  # empty document
        ("x = 1\n", [((5, 0), (9, 9), "\ny = 2")]),  # past the last line means the end
        ("x = 1", [((0, 99), (0, 99), "\n")]),  # past a line's end means its end
        ("a\rb\n", [((1, 0), (1, 0), "\n")]),  # an LF after a lone CR joins it into CRLF
        ("a\rxb\nc", [((1, 0), (1, 1), "\n")]),  # the same by a deletion
        ("ab\nc", [((0, 2), (0, 2), "\r")]),  # a CR typed before an LF
        ("a\r\nb", [((0, 1), (1, 0), "")]),  # deleting a CRLF
        ("s = '😀é'\n", [((0, 7), (0, 7), "中"), ((0, 5), (0, 7), "")]),  # astral and multi-byte
        ("def f(:\n    pass\n", [((0, 6), (0, 6), ")")]),  # an error fixed
        ("a = 1\nb = 2\nc = 3\n", [((0, 0), (2, 5), "z")]),  # a deletion across lines
    ],
)
def test_named_edge_cases(initial: str, edits: list[tuple[tuple[int, int], tuple[int, int], str]]) -> None:
    run("python", initial, [edits])


def test_edit_span_points_agree_with_tree_sitter_rows() -> None:
    """A CR typed before an LF is not a new line: the edit ends on the same row."""
    mirror = DocumentMirror("ab\nc")
    span = mirror.apply_change((0, 2), (0, 2), "\r")
    assert (span.start_point, span.old_end_point, span.new_end_point) == ((0, 2), (0, 2), (0, 3))
    assert span.new_end_line == 0 and mirror.lines == ["ab\r\n", "c"]


def test_an_edit_on_a_middle_line_adds_no_line() -> None:
    mirror = DocumentMirror("a\nb\nc\n")
    mirror.apply_change((1, 1), (1, 1), "x")
    assert mirror.lines == ["a\n", "bx\n", "c\n", ""]


def test_error_recovery_may_follow_the_old_tree() -> None:
    """Here tree-sitter recovers differently with the old tree than from scratch; ours must be
    exactly tree-sitter's own incremental result (checked inside run)."""
    initial = "".join(f"function f{i}(x) {{\n  return x + {i}; // é\n}}\n" for i in range(8))
    run("javascript", initial, [[((1, 0), (3, 17), ""), ((0, 17), (2, 3), ""), ((0, 34), (1, 2), "")]])


_PIECES = ["a", "é", "😀", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]


@given(st.lists(st.sampled_from(_PIECES)).map("".join), st.booleans())
def test_split_lines_are_the_lsp_lines_whatever_the_text_holds(text: str, plain: bool) -> None:
    # The fast path (str.splitlines) must never split where LSP does not (\x0b, \u2028, ...).
    if plain:  # the fast path's text: no break but LSP's own
        text = re.sub("[\x0b\x0c\x1c\x85\u2028]", "", text)
    assert split_lines(text) == ref_lines(text)


class _NaiveChanges:
    """The changed ranges the obvious way: each edit shifts every range after it (O(K) per edit)."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int, int]] = []

    def add(self, start: int, old_end: int, new_end: int) -> None:
        growth = new_end - old_end
        before = [r for r in self.ranges if r[1] < start]
        touched = [r for r in self.ranges if r[1] >= start and r[0] <= old_end]
        after = [(s + growth, e + growth, g) for s, e, g in self.ranges if r_after(s, e, start, old_end)]
        lo, hi, total = start, new_end, growth
        for s, e, g in touched:
            lo, hi, total = min(lo, s), max(hi, e + growth if e >= old_end else new_end), total + g
        self.ranges = [*before, (lo, hi, total), *after]


def r_after(s: int, e: int, start: int, old_end: int) -> bool:
    return e >= start and s > old_end


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 30), st.integers(0, 30)), max_size=60), st.booleans())
def test_changed_ranges_are_those_of_the_naive_bookkeeping(edits: list[tuple[int, int, int]], reverse: bool) -> None:
    from proactive_ls.sensing.syntax.document import _Changes

    fast, naive = _Changes(), _NaiveChanges()
    size = 500
    if reverse:  # a Replace All as editors send it: last occurrence first
        edits = sorted(edits, reverse=True)
    for at, removed, inserted in edits:
        start = min(at, size)
        old_end = min(start + removed, size)
        new_end = start + inserted
        fast.add(start, old_end, new_end)
        naive.add(start, old_end, new_end)
        size += new_end - old_end
        if at % 7 == 0:  # read in the middle of the edits, too
            assert fast.ranges == naive.ranges
    assert fast.ranges == naive.ranges
