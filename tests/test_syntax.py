"""Code structure from tree-sitter on real source files in every supported language."""

from __future__ import annotations

from pathlib import Path

import pytest

from proactive_ls.sensing.mirror import DocumentMirror
from proactive_ls.sensing.syntax import (
    Definition,
    SyntaxDocument,
    SyntaxIssue,
    diff_definitions,
    language_for,
)

FIXTURES = Path(__file__).parent / "fixtures" / "syntax"

# (kind, qualified, first line, last line), 0-based, in document order
EXPECTED: dict[str, list[tuple[str, str, int, int]]] = {
    "sample.py": [
        ("function", "parse_args", 5, 6),
        ("class", "Parser", 9, 23),
        ("method", "Parser.__init__", 12, 13),
        ("method", "Parser.parse", 15, 20),  # from its decorator
        ("function", "Parser.parse.helper", 17, 18),
        ("class", "Parser.Options", 22, 23),
        ("function", "fetch", 26, 27),  # async
    ],
    "sample.js": [
        ("function", "loadConfig", 3, 5),
        ("function", "double", 7, 7),
        ("function", "legacy", 9, 11),
        ("class", "Store", 13, 25),
        ("method", "Store.constructor", 14, 16),
        ("method", "Store.add", 18, 20),
        ("method", "Store.onChange", 22, 24),
    ],
    "sample.ts": [
        ("interface", "User", 0, 3),
        ("type", "Id", 5, 5),
        ("enum", "Role", 7, 10),
        ("class", "UserService", 12, 18),
        ("method", "UserService.find", 15, 17),
        ("function", "greet", 20, 20),
    ],
    "sample.tsx": [
        ("interface", "ButtonProps", 2, 4),
        ("function", "Button", 6, 8),
        ("function", "App", 10, 16),
    ],
    "sample.go": [
        ("struct", "Server", 4, 6),
        ("interface", "Handler", 8, 10),
        ("function", "New", 12, 14),
        ("method", "Server.Start", 16, 18),
    ],
    "sample.rs": [
        ("struct", "Point", 2, 5),
        ("trait", "Shape", 7, 9),
        ("method", "Shape::area", 8, 8),
        ("impl", "Point", 11, 15),
        ("method", "Point::new", 12, 14),
        ("impl", "fmt::Display for Point", 17, 21),
        ("method", "Point::fmt", 18, 20),
        ("function", "main", 23, 25),
    ],
    "Sample.java": [
        ("class", "Sample", 2, 18),
        ("constructor", "Sample.Sample", 5, 7),
        ("method", "Sample.getSize", 9, 11),
        ("class", "Sample.Builder", 13, 17),
        ("method", "Sample.Builder.build", 14, 16),
    ],
    "sample.c": [
        ("struct", "point", 2, 5),
        ("function", "add", 7, 10),
        ("function", "main", 12, 16),
    ],
    "sample.cpp": [
        ("namespace", "geo", 2, 20),
        ("class", "geo::Shape", 4, 9),
        ("method", "geo::Shape::~Shape", 6, 6),
        ("method", "geo::Shape::name", 8, 8),
        ("struct", "geo::Circle", 11, 14),
        ("method", "geo::Circle::area", 16, 18),  # defined outside the class as Circle::area
        ("function", "main", 22, 25),
    ],
}

LANGUAGE_OF = {
    "sample.py": "python",
    "sample.js": "javascript",
    "sample.ts": "typescript",
    "sample.tsx": "tsx",
    "sample.go": "go",
    "sample.rs": "rust",
    "Sample.java": "java",
    "sample.c": "c",
    "sample.cpp": "cpp",
}


def open_fixture(name: str) -> tuple[DocumentMirror, SyntaxDocument]:
    mirror = DocumentMirror((FIXTURES / name).read_text(encoding="utf-8"))
    language = language_for("", name)
    assert language is not None
    return mirror, SyntaxDocument(language, mirror)


def shape(definitions: list[Definition]) -> list[tuple[str, str, int, int]]:
    return [(d.kind, d.qualified, d.start_line, d.end_line) for d in definitions]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_definitions_of_each_language(name: str) -> None:
    _, doc = open_fixture(name)
    assert doc.language == LANGUAGE_OF[name]
    assert shape(doc.definitions()) == EXPECTED[name]
    assert doc.syntax_errors() == []


@pytest.mark.parametrize(
    ("name", "first", "last", "labels"),
    [
        ("sample.py", 18, 18, ["function `Parser.parse.helper`", "method `Parser.parse`", "class `Parser`"]),
        ("sample.py", 12, 16, ["method `Parser.__init__`", "method `Parser.parse`", "class `Parser`"]),
        ("sample.py", 15, 15, ["method `Parser.parse`", "class `Parser`"]),  # the decorator line
        ("sample.py", 2, 3, []),
        (
            "sample.py",
            0,
            30,
            [
                "function `Parser.parse.helper`",
                "method `Parser.__init__`",
                "method `Parser.parse`",
                "class `Parser.Options`",
                "function `parse_args`",
            ],
        ),  # bounded to five
        ("sample.js", 23, 23, ["method `Store.onChange`", "class `Store`"]),
        ("sample.js", 7, 7, ["function `double`"]),
        ("sample.tsx", 13, 13, ["function `App`"]),
        ("sample.go", 17, 17, ["method `Server.Start`"]),
        ("sample.rs", 19, 19, ["method `Point::fmt`", "impl `fmt::Display for Point`"]),
        ("Sample.java", 15, 15, ["method `Sample.Builder.build`", "class `Sample.Builder`", "class `Sample`"]),
        ("sample.c", 15, 15, ["function `main`"]),
        ("sample.cpp", 17, 17, ["method `geo::Circle::area`", "namespace `geo`"]),
    ],
)
def test_enclosing_definitions(name: str, first: int, last: int, labels: list[str]) -> None:
    _, doc = open_fixture(name)
    assert [d.label for d in doc.enclosing(first, last)] == labels


def test_labels() -> None:
    _, doc = open_fixture("sample.py")
    assert [d.label for d in doc.definitions()[:3]] == [
        "function `parse_args`",
        "class `Parser`",
        "method `Parser.__init__`",
    ]


@pytest.mark.parametrize(
    ("language_id", "path", "expected"),
    [
        ("python", None, "python"),
        ("javascriptreact", "a.jsx", "javascript"),
        ("typescriptreact", "a.tsx", "tsx"),
        ("typescript", "a.ts", "typescript"),
        ("go", None, "go"),
        ("rust", None, "rust"),
        ("java", None, "java"),
        ("c", "x.h", "c"),
        ("cpp", "x.h", "cpp"),
        ("plaintext", "src/main.rs", "rust"),
        ("", "lib/util.hpp", "cpp"),
        ("", "App.TSX", "tsx"),
        ("markdown", "README.md", None),
        ("plaintext", None, None),
    ],
)
def test_language_for(language_id: str, path: str | None, expected: str | None) -> None:
    assert language_for(language_id, path) == expected


# -- syntax errors -------------------------------------------------------------------------------


def test_python_missing_parenthesis() -> None:
    doc = SyntaxDocument("python", DocumentMirror("import os\n\n\ndef f(:\n    pass\n"))
    assert doc.syntax_errors() == [SyntaxIssue(line=3, column=6, missing=")")]


def test_javascript_missing_brace_at_the_end() -> None:
    source = "function total(items) {\n  let sum = 0;\n  for (const i of items) {\n    sum += i;\n  }\n  return sum;\n"
    doc = SyntaxDocument("javascript", DocumentMirror(source))
    issues = doc.syntax_errors()
    assert [(i.line, i.missing) for i in issues] == [(5, "}")]


def test_error_columns_count_utf16_units() -> None:
    source = "x = 1;\nlet s = '😀é';  f(a, b;\n"
    doc = SyntaxDocument("javascript", DocumentMirror(source))
    line = source.splitlines()[1]
    # the MISSING ')' is before ';', and the emoji before it is two UTF-16 units (one character)
    assert doc.syntax_errors() == [SyntaxIssue(line=1, column=line.rindex(";") + 1, missing=")")]


def test_error_columns_in_utf8_when_negotiated() -> None:
    source = "x = 1;\nlet s = '😀é';  f(a, b;\n"
    doc = SyntaxDocument("javascript", DocumentMirror(source, encoding="utf-8"))
    line = source.splitlines()[1]
    assert doc.syntax_errors()[0].column == len(line[: line.rindex(";")].encode("utf-8"))


def test_lines_are_lsp_lines_after_a_lone_cr() -> None:
    """tree-sitter counts rows at LF only; LSP also ends a line at a lone CR."""
    source = "x = 1\rdef f(:\r    pass\r\rdef g():\r    return 1\r"
    doc = SyntaxDocument("python", DocumentMirror(source))
    assert doc.syntax_errors() == [SyntaxIssue(line=1, column=6, missing=")")]
    assert shape(doc.definitions()) == [("function", "f", 1, 2), ("function", "g", 4, 5)]


def test_errors_are_bounded_and_in_order() -> None:
    source = "".join(f"def f{i}(:\n    pass\n" for i in range(30))
    doc = SyntaxDocument("python", DocumentMirror(source))
    issues = doc.syntax_errors(limit=5)
    assert [i.line for i in issues] == [0, 2, 4, 6, 8]


def test_an_error_fixed_by_an_incremental_edit_goes_away() -> None:
    mirror = DocumentMirror("int main() {\n  return 0\n}\n")
    doc = SyntaxDocument("c", mirror)
    assert [(i.line, i.missing) for i in doc.syntax_errors()] == [(1, ";")]
    doc.edit(mirror.apply_change((1, 10), (1, 10), ";"))
    doc.reparse()
    assert doc.syntax_errors() == []


# -- added, removed, renamed through edits -----------------------------------------------------------


def edit(
    name: str, *changes: tuple[tuple[int, int], tuple[int, int], str]
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Apply changes the way the document tracker does: mirror, tree edit, one reparse."""
    mirror, doc = open_fixture(name)
    before = doc.definitions()
    for start, end, text in changes:
        doc.edit(mirror.apply_change(start, end, text))
    doc.reparse()
    after = doc.definitions()
    fresh = SyntaxDocument(doc.language, DocumentMirror(mirror.text))
    assert after == fresh.definitions()  # the incremental result is the from-scratch result
    return diff_definitions(before, after)


def test_rename_a_function() -> None:
    assert edit("sample.py", ((5, 4), (5, 14), "parse_argv")) == (
        [],
        [],
        [("function `parse_args`", "function `parse_argv`")],
    )


def test_rename_a_class_reports_the_class_not_its_members() -> None:
    assert edit("sample.py", ((9, 6), (9, 12), "Reader")) == ([], [], [("class `Parser`", "class `Reader`")])


def test_rename_while_lines_move_above() -> None:
    added = edit("sample.py", ((2, 0), (2, 0), "import os\nimport sys\n\n"), ((29, 10), (29, 15), "download"))
    assert added == ([], [], [("function `fetch`", "function `download`")])


def test_add_a_method() -> None:
    result = edit("sample.py", ((13, 24), (13, 24), "\n\n    def close(self):\n        self.text = ''"))
    assert result == (["method `Parser.close`"], [], [])


def test_remove_a_function() -> None:
    assert edit("sample.py", ((24, 0), (28, 0), "")) == ([], ["function `fetch`"], [])


def test_replace_a_function_by_a_different_one_elsewhere_is_not_a_rename() -> None:
    result = edit(
        "sample.py",
        ((5, 0), (8, 0), ""),  # parse_args goes away at the top
        ((24, 0), (24, 0), "\ndef main():\n    for i in range(3):\n        print(i)\n    return 0\n\n"),
    )
    assert result == (["function `main`"], ["function `parse_args`"], [])


def test_rename_a_method_keeping_its_length() -> None:
    """Nothing moves, so only the edited range tells that the class must be looked at again."""
    assert edit("sample.js", ((18, 2), (18, 5), "put")) == ([], [], [("method `Store.add`", "method `Store.put`")])


def test_rename_an_arrow_function() -> None:
    assert edit("sample.js", ((7, 6), (7, 12), "twice")) == ([], [], [("function `double`", "function `twice`")])


def test_rename_a_go_method() -> None:
    assert edit("sample.go", ((16, 17), (16, 22), "Run")) == (
        [],
        [],
        [("method `Server.Start`", "method `Server.Run`")],
    )


def test_rename_a_rust_struct_and_add_a_method() -> None:
    result = edit(
        "sample.rs", ((14, 5), (14, 5), "\n\n    pub fn origin() -> Self {\n        Point { x: 0.0, y: 0.0 }\n    }")
    )
    assert result == (["method `Point::origin`"], [], [])


def test_typing_inside_a_body_changes_no_definition() -> None:
    assert edit("Sample.java", ((10, 15), (10, 15), " + 1")) == ([], [], [])


def test_diff_of_nothing() -> None:
    assert diff_definitions([], []) == ([], [], [])


# -- the tree follows edits incrementally ------------------------------------------------------------


class _SpyParser:
    """Records whether each parse was given the old tree."""

    def __init__(self, parser: object) -> None:
        self.parser = parser
        self.old_trees: list[object] = []

    def parse(self, source: object, old_tree: object = None) -> object:
        self.old_trees.append(old_tree)
        return self.parser.parse(source, old_tree) if old_tree is not None else self.parser.parse(source)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("language", "template", "line_of", "column"),
    [
        ("python", "def f{i}(x):\n    return x + {i}\n\n", lambda i: 3 * i + 1, 12),
        ("javascript", "function f{i}(x) {{\n  return x + {i};\n}}\n", lambda i: 3 * i + 1, 10),
    ],
)
def test_reparse_is_incremental(language: str, template: str, line_of: object, column: int) -> None:
    """Each reparse hands tree-sitter the edited old tree; several edits wait for one reparse."""
    mirror = DocumentMirror("".join(template.format(i=i) for i in range(3000)))
    doc = SyntaxDocument(language, mirror)
    spy = _SpyParser(doc._parser)  # noqa: SLF001
    doc._parser = spy  # type: ignore[assignment]
    for i in (1500, 33, 2667):
        line = line_of(i)  # type: ignore[operator]
        old = doc.tree
        doc.edit(mirror.apply_change((line, column), (line, column), "y"))  # x -> xy
        doc.edit(mirror.apply_change((line, column + 1), (line, column + 1), "z"))
        doc.reparse()
        assert spy.old_trees[-1] is old
    assert len(spy.old_trees) == 3
    assert "xyz" in mirror.line_text(line_of(1500))  # type: ignore[operator]
    assert doc.definitions()[1500] == Definition(
        "function", "f1500", "f1500", 4500, 4501 if language == "python" else 4502
    )
    assert str(doc.tree.root_node) == str(SyntaxDocument(language, DocumentMirror(mirror.text)).tree.root_node)
