"""The terminal failure parsers, on outputs captured by really running each tool.

Every ``tests/fixtures/terminal/<tool>/<case>.txt`` is what the command in the sibling ``.json``
printed (stdout and stderr together; the ``color``/``pretty`` cases through a pseudo-terminal),
byte for byte. See tests/fixtures/terminal/README.md for how they were made.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proactive_ls.events import Failure, TerminalCommand
from proactive_ls.sensing.terminal import parse_failure, registry, strip_ansi
from proactive_ls.sensing.terminal.base import MAX_LOCATIONS, is_library_path
from proactive_ls.sensing.terminal.command import invocations

FIXTURES = Path(__file__).parent / "fixtures" / "terminal"


@dataclass(frozen=True)
class Expect:
    tool: str
    title: str
    failed: int
    path: str | None
    line: int | None
    column: int | None = None
    locations: int | None = None
    summary: str | None = None


def load(case: str) -> tuple[dict, str]:
    meta = json.loads((FIXTURES / f"{case}.json").read_text())
    output = (FIXTURES / f"{case}.txt").read_bytes().decode("utf-8", "replace")
    return meta, output


def run(case: str, command_line: str | None = None) -> Failure | None:
    meta, output = load(case)
    return registry.parse(command_line or meta["commandLine"], output, meta["exitCode"], meta["cwd"])


TS2322 = "TS2322: Type 'number' is not assignable to type 'string'."
MYPY_RETURN = 'Incompatible return value type (got "str", expected "int") [return-value]'

CASES: dict[str, Expect] = {
    # pytest
    "pytest/one_failure": Expect(
        "pytest",
        "tests/test_core.py::test_add",
        1,
        "tests/test_core.py",
        6,
        locations=1,
        summary="1 test failed in 'tests/test_core.py' (test_add: assert 4 == 3)",
    ),
    "pytest/color_one_failure": Expect(
        "pytest",
        "tests/test_core.py::test_add",
        1,
        "tests/test_core.py",
        6,
        locations=1,
        summary="1 test failed in 'tests/test_core.py' (test_add: assert 4 == 3)",
    ),
    "pytest/several_files": Expect(
        "pytest",
        "tests/test_core.py::test_add",
        7,
        "tests/test_core.py",
        6,
        locations=5,
        summary="6 tests failed and 1 error in 3 files (first: test_add: assert 4 == 3)",
    ),
    "pytest/color_several": Expect(
        "pytest",
        "tests/test_core.py::test_add",
        7,
        "tests/test_core.py",
        6,
        locations=5,
        summary="6 tests failed and 1 error in 3 files (first: test_add: assert 4 == 3)",
    ),
    "pytest/collection_error": Expect(
        "pytest",
        "ModuleNotFoundError: No module named 'calc.missing_module'",
        1,
        "broken_tests/test_broken.py",
        1,
        summary="1 error while collecting tests in 'broken_tests/test_broken.py' "
        "(ModuleNotFoundError: No module named 'calc.missing_module')",
    ),
    "pytest/collection_syntax_error": Expect(
        "pytest",
        "ModuleNotFoundError: No module named 'calc.missing_module'",
        2,
        "broken_tests/test_broken.py",
        1,
        locations=2,
    ),
    "pytest/conftest_import_error": Expect(
        "pytest",
        "ModuleNotFoundError: No module named 'missing_plugin_module'",
        1,
        "tests/conftest.py",
        1,
        summary="pytest could not load 'tests/conftest.py' "
        "(ModuleNotFoundError: No module named 'missing_plugin_module')",
    ),
    "pytest/helper_in_class": Expect(
        "pytest",
        "tests/test_io.py::TestReader::test_reads_blank",
        1,
        "calc/core.py",
        15,
        summary="1 test failed in 'tests/test_io.py' (TestReader.test_reads_blank: ValueError: empty input)",
    ),
    "pytest/exitfirst": Expect("pytest", "tests/test_core.py::test_add", 1, "tests/test_core.py", 6),
    "pytest/quiet": Expect(
        "pytest",
        "tests/test_param.py::test_add_cases[1-2-3]",
        5,
        "tests/test_param.py",
        8,
        locations=3,
        summary="5 tests failed in 2 files (first: test_add_cases[1-2-3]: assert 4 == 3)",
    ),
    "pytest/parametrized": Expect(
        "pytest",
        "tests/test_param.py::test_add_cases[1-2-3]",
        4,
        "tests/test_param.py",
        8,
        locations=2,
    ),
    "pytest/tb_no": Expect("pytest", "tests/test_core.py::test_add", 7, None, None, locations=0),
    "pytest/tb_short": Expect(
        "pytest",
        "tests/test_io.py::TestReader::test_reads_blank",
        2,
        "calc/core.py",
        15,
        locations=2,
        summary="1 test failed and 1 error in 'tests/test_io.py' "
        "(first: TestReader.test_reads_blank: ValueError: empty input)",
    ),
    "pytest/tb_line": Expect(
        "pytest",
        "tests/test_param.py::test_add_cases[1-2-3]",
        4,
        "/tmp/pyproj/tests/test_param.py",
        8,
        locations=2,
    ),
    "pytest/tb_native": Expect(
        "pytest",
        "tests/test_io.py::TestReader::test_reads_blank",
        1,
        "/tmp/pyproj/calc/core.py",
        15,
    ),
    "pytest/library_frames": Expect(
        "pytest",
        "extra_tests/test_http.py::test_fetch_rejects_bad_url",
        2,
        "extra_tests/test_http.py",
        7,
        locations=2,
    ),
    "pytest/usage_error": Expect("pytest", "file or directory not found: tests/test_nope.py", 1, None, None),
    # plain Python
    "python/script_crash": Expect(
        "python",
        "ZeroDivisionError: float division by zero",
        1,
        "/tmp/pyproj/scripts/app.py",
        6,
        summary="the script crashed with ZeroDivisionError: float division by zero at 'app.py' line 6",
    ),
    "python/chained": Expect("python", "KeyError: 'timeout'", 1, "/tmp/pyproj/scripts/chained.py", 11),
    "python/raise_from": Expect("python", "ConfigError: bad port 'eighty'", 1, "/tmp/pyproj/scripts/cause.py", 12),
    "python/syntax_error": Expect(
        "python",
        "SyntaxError: '(' was never closed",
        1,
        "/tmp/pyproj/scripts/bad_syntax.py",
        2,
        summary="the script did not start because of SyntaxError: '(' was never closed at 'bad_syntax.py' line 2",
    ),
    "python/indentation_error": Expect(
        "python",
        "IndentationError: unexpected indent",
        1,
        "/tmp/pyproj/scripts/bad_indent.py",
        3,
    ),
    "python/site_packages": Expect(
        "python",
        "requests.exceptions.InvalidURL: Failed to parse: Host 'not a url' contains invalid character ' '",
        1,
        "/tmp/pyproj/scripts/fetch.py",
        6,
    ),
    "python/stdlib_frames": Expect(
        "python",
        "json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        1,
        "/tmp/pyproj/scripts/parse_json.py",
        4,
    ),
    "python/module_crash": Expect(
        "python",
        "IndexError: list index out of range",
        1,
        "/tmp/pyproj/scripts/pkg/worker.py",
        3,
        summary="the program crashed with IndexError: list index out of range at 'pkg/worker.py' line 3",
    ),
    "python/exception_group": Expect(
        "python",
        "ExceptionGroup: invalid values (2 sub-exceptions)",
        1,
        "/tmp/pyproj/scripts/group.py",
        7,
    ),
    # unittest
    "unittest/discover": Expect(
        "unittest",
        "tests.test_cart.CartTest.test_remove",
        3,
        "/tmp/utproj/shop/cart.py",
        15,
        locations=3,
        summary="2 tests failed and 1 error in 2 files (first: test_remove: KeyError: 'pear')",
    ),
    "unittest/verbose_one_module": Expect(
        "unittest",
        "tests.test_cart.CartTest.test_remove",
        2,
        "/tmp/utproj/shop/cart.py",
        15,
        locations=2,
    ),
    "unittest/single_failure": Expect(
        "unittest",
        "tests.test_more.MoreTest.test_add_twice",
        1,
        "/tmp/utproj/tests/test_more.py",
        11,
    ),
    "unittest/runner_script": Expect(  # "python run_tests.py": the script's output is unittest's
        "unittest",
        "test_cart.CartTest.test_remove",
        3,
        "/tmp/utproj/shop/cart.py",
        15,
        locations=3,
    ),
    "unittest/import_error": Expect(
        "unittest",
        "ModuleNotFoundError: No module named 'shop.checkout'",
        1,
        "/tmp/utproj/broken/test_imports.py",
        3,
    ),
    # mypy
    "mypy/one_file": Expect(
        "mypy",
        MYPY_RETURN,
        4,
        "src/parser.py",
        6,
        locations=3,
        summary=f"mypy found 4 errors in 'src/parser.py' (first at line 6: {MYPY_RETURN})",
    ),
    "mypy/several_files": Expect("mypy", MYPY_RETURN, 6, "src/parser.py", 6, locations=5),
    "mypy/columns": Expect(
        "mypy",
        'Argument "age" to "User" has incompatible type "str"; expected "int" [arg-type]',
        2,
        "src/models.py",
        11,
        33,
    ),
    "mypy/pretty_color": Expect(
        "mypy",
        'Argument "age" to "User" has incompatible type "str"; expected "int" [arg-type]',  # wrapped
        2,
        "src/models.py",
        11,
    ),
    "mypy/pretty_config_wrapped": Expect(
        "mypy",
        'Value expression in dictionary comprehension has incompatible type "str"; expected type "Item" [misc]',
        2,
        "src/inventory.py",
        13,
        locations=2,
    ),
    "mypy/missing_file": Expect("mypy", "Cannot read file: No such file or directory", 1, None, None),
    "mypy/many_errors": Expect(
        "mypy",
        'Incompatible types in assignment (expression has type "int", variable has type "str") [assignment]',
        50,
        "src/many.py",
        4,
        locations=MAX_LOCATIONS,
    ),
    # tsc
    "tsc/project": Expect(
        "tsc",
        TS2322,
        4,
        "src/format.ts",
        7,
        9,
        locations=4,
        summary=f"tsc found 4 errors in 2 files (first in 'src/format.ts' line 7: {TS2322})",
    ),
    "tsc/project_pretty": Expect("tsc", TS2322, 4, "src/format.ts", 7, 9, locations=4),
    "tsc/one_file": Expect("tsc", TS2322, 2, "src/format.ts", 7, 9, locations=2),
    "tsc/ts5_project": Expect("tsc", TS2322, 4, "src/format.ts", 7, 9),
    "tsc/ts5_pretty": Expect("tsc", TS2322, 4, "src/format.ts", 7, 9),
    "tsc/files_with_tsconfig": Expect(
        "tsc",
        "TS5112: tsconfig.json is present but will not be loaded if files are specified on commandline. "
        "Use '--ignoreConfig' to…",
        1,
        None,
        None,
    ),
    # eslint
    "eslint/stylish": Expect(
        "eslint",
        "'unused' is assigned a value but never used (no-unused-vars)",
        4,
        "/tmp/esproj/src/cart.js",
        3,
        9,
        locations=4,
        summary="eslint found 4 errors in 2 files "
        "(first in 'src/cart.js' line 3: 'unused' is assigned a value but never used (no-unused-vars))",
    ),
    "eslint/color": Expect(
        "eslint",
        "'unused' is assigned a value but never used (no-unused-vars)",
        4,
        "/tmp/esproj/src/cart.js",
        3,
        9,
    ),
    "eslint/one_file": Expect(
        "eslint",
        "Expected '===' and instead saw '==' (eqeqeq)",
        2,
        "/tmp/esproj/src/util.js",
        2,
        22,
        locations=2,
    ),
    "eslint/parse_error": Expect(
        "eslint",
        "Parsing error: Unexpected keyword 'return'",
        1,
        "/tmp/esproj/lib/broken.js",
        2,
        3,
    ),
    "eslint/max_warnings": Expect(
        "eslint",
        "Unexpected console statement (no-console)",
        1,
        "/tmp/esproj/lib/warn_only.js",
        2,
        3,
    ),
    # go
    "go/build_errors": Expect(
        "go",
        'imported and not used: "os"',
        4,
        "./main.go",
        5,
        2,
        locations=4,
        summary="the build failed with 4 errors in 2 files (first in 'main.go' line 5: imported and not used: \"os\")",
    ),
    "go/vet": Expect(
        "go",
        "fmt.Printf format %d has arg name of wrong type string",
        1,
        "./main.go",
        7,
        2,
        summary="go vet found 1 problem in 'main.go' "
        "(at line 7: fmt.Printf format %d has arg name of wrong type string)",
    ),
    "go/test_fail": Expect(
        "go",
        "TestAdd",
        3,
        "calc_test.go",
        7,
        locations=2,
        summary="3 tests failed in package 'example.com/goproj/calc' (first: TestAdd: Add(1, 2) = 4, want 3)",
    ),
    "go/test_verbose": Expect("go", "TestAdd", 3, "calc_test.go", 7, locations=2),
    "go/test_all": Expect("go", "TestAdd", 4, "calc_test.go", 7, locations=3),
    "go/test_panic": Expect("go", "TestLast", 1, "/tmp/goproj/strs/strs.go", 5),
    "go/test_build_failed": Expect("go", "undefined: Perimeter", 1, "./shapes_test.go", 9, 5),
    "go/run_panic": Expect(
        "go",
        "panic: runtime error: index out of range [3] with length 3",
        1,
        "/tmp/goproj/calc/calc.go",
        10,
    ),
    # cargo / rustc
    "cargo/build_errors": Expect(
        "cargo",
        "error[E0308]: mismatched types",
        4,
        "src/config.rs",
        3,
        35,
        locations=4,
        summary="the build failed with 4 errors in 2 files "
        "(first in 'src/config.rs' line 3: error[E0308]: mismatched types)",
    ),
    "cargo/build_color": Expect("cargo", "error[E0308]: mismatched types", 4, "src/config.rs", 3, 35, locations=4),
    "cargo/rustc_direct": Expect("rustc", "error[E0308]: mismatched types", 1, "hello.rs", 2, 21),
    "cargo/test_compile_error": Expect(
        "cargo",
        "error[E0425]: cannot find function `cube` in this scope",
        1,
        "src/lib.rs",
        12,
        20,
    ),
    "cargo/test_panics": Expect(
        "cargo",
        "tests::adds_small_numbers",
        2,
        "src/lib.rs",
        15,
        9,
        locations=2,
        summary="2 tests failed in 'src/lib.rs' (first: tests::adds_small_numbers: assertion `left == right` failed)",
    ),
    "cargo/test_no_fail_fast": Expect("cargo", "tests::finds_first_word", 3, "src/lib.rs", 6, 25, locations=3),
    "cargo/run_panic": Expect(
        "cargo",
        "panic: key must exist",
        1,
        "src/main.rs",
        4,
        19,
        summary="the program panicked with 'key must exist' at 'src/main.rs' line 4",
    ),
    # gcc / clang
    "gcc/errors": Expect(
        "gcc",
        "‘total’ undeclared (first use in this function)",
        3,
        "main.c",
        8,
        20,
        locations=3,
        summary="the build failed with 3 errors in 2 files "
        "(first in 'main.c' line 8: ‘total’ undeclared (first use in this function))",
    ),
    "gcc/color": Expect("gcc", "expected ‘;’ before ‘return’", 1, "stats.c", 6, 25),
    "gcc/gpp_errors": Expect(
        "gcc",
        "no matching function for call to ‘std::vector<Shape>::push_back(int)’",
        2,
        "shapes.cpp",
        11,
        21,
    ),
    "gcc/make": Expect("gcc", "‘total’ undeclared (first use in this function)", 2, "main.c", 8, 20),
    "gcc/linker": Expect("gcc", "undefined reference to `helper'", 1, None, None),
    "clang/errors": Expect("clang", "use of undeclared identifier 'total'", 3, "main.c", 8, 20, locations=3),
    "clang/cpp_errors": Expect("clang", "no matching member function for call to 'push_back'", 2, "shapes.cpp", 11, 12),
    "clang/make_cc_clang": Expect("clang", "use of undeclared identifier 'total'", 2, "main.c", 8, 20),
    "clang/linker": Expect("clang", "undefined reference to `helper'", 1, None, None),
    # javac / java
    "javac/syntax": Expect(
        "javac",
        "';' expected",
        2,
        "src/com/example/Main.java",
        8,
        locations=2,
        summary="the build failed with 2 errors in 2 files (first in 'src/com/example/Main.java' line 8: ';' expected)",
    ),
    "javac/symbols": Expect(
        "javac",
        "incompatible types: String cannot be converted to Integer",
        2,
        "src/com/example/Types.java",
        10,
    ),
    "javac/java_runtime": Expect("java", "java.lang.ArithmeticException: / by zero", 1, "Crash.java", 3),
    # node
    "node/type_error": Expect(
        "node",
        "TypeError: Cannot read properties of null (reading 'reduce')",
        1,
        "/tmp/nodeproj/lib/cart.js",
        2,
        16,
    ),
    "node/thrown": Expect("node", "RangeError: port 80 is reserved", 1, "/tmp/nodeproj/thrower.js", 3, 11),
    # node --test, Jest, Vitest: the innermost frame in the user's code of each failed test
    "node/test_runner": Expect(
        "node",
        "drops trailing punctuation",
        2,
        "/tmp/nodet/test/slug.test.js",
        11,
        10,
        locations=2,
        summary="2 tests failed in 2 files (first: drops trailing punctuation: Expected values to be strictly equal:)",
    ),
    "node/test_runner_npm": Expect("node", "drops trailing punctuation", 2, "/tmp/nodet/test/slug.test.js", 11, 10),
    "node/test_runner_spec_pty": Expect(
        "node", "drops trailing punctuation", 2, "/tmp/nodet/test/slug.test.js", 11, 10, locations=2
    ),
    "jest/fail": Expect(
        "jest",
        "slugify › drops trailing punctuation",
        2,
        "__tests__/slug.test.js",
        9,
        38,
        locations=2,
        summary="2 tests failed in 2 files "
        "(first: slugify › drops trailing punctuation: expect(received).toBe(expected) // Object.is equality)",
    ),
    "jest/fail_pty": Expect("jest", "slugify › drops trailing punctuation", 2, "__tests__/slug.test.js", 9, 38),
    "vitest/fail": Expect(
        "vitest",
        "test/slug.test.js > slugify > drops trailing punctuation",
        2,
        "test/slug.test.js",
        10,
        38,
        locations=2,
    ),
    "vitest/fail_pty": Expect(
        "vitest", "test/slug.test.js > slugify > drops trailing punctuation", 2, "test/slug.test.js", 10, 38
    ),
    # Maven: javac errors, Surefire failures (a frame's class gives the package directory)
    "maven/compile_error": Expect(
        "maven",
        "cannot find symbol",
        1,
        "/tmp/mvnc/src/main/java/com/example/words/Words.java",
        7,
        28,
        summary="the build failed with 1 compile error in 'src/main/java/com/example/words/Words.java' "
        "(at line 7: cannot find symbol)",
    ),
    "maven/test_failures": Expect(
        "maven",
        "WordsTest.countsWords",
        2,
        "com/example/words/WordsTest.java",
        10,
        locations=2,
        summary="2 tests failed (first: WordsTest.countsWords: "
        "org.opentest4j.AssertionFailedError: expected: <2> but was: <4>)",
    ),
    # ruff, flake8
    "ruff/check": Expect(
        "ruff",
        "F401 `os` imported but unused",
        3,
        "calc/core.py",
        1,
        8,
        locations=3,
        summary="ruff found 3 problems in 2 files (first in 'calc/core.py' line 1: F401 `os` imported but unused)",
    ),
    "ruff/check_concise": Expect("ruff", "F401 `os` imported but unused", 3, "calc/core.py", 1, 8, locations=3),
    "flake8/errors": Expect("flake8", "F401 'os' imported but unused", 6, "calc/core.py", 1, 1, locations=6),
    # pytest-xdist: workers' reports read like pytest's
    "pytest/xdist": Expect("pytest", "tests/test_more.py::test_add_negative", 3, "tests/test_more.py", 5, locations=3),
    "pytest/xdist_rootdir": Expect("pytest", "test_more.py::test_add_negative", 3, "test_more.py", 5, locations=3),
    # go from the module root: a test's file is relative to its package directory
    "go/test_subpackage": Expect("go", "TestCount", 1, "words_test.go", 15),  # no go.mod here: see test_go_paths
    "go/test_in_package_dir": Expect("go", "TestCount", 1, "words_test.go", 15),
    "go/vet_typecheck": Expect(
        "go",
        "undeclared name: undefinedHelper",
        1,
        "words/extra.go",
        8,
        14,
        summary="go vet found 1 problem in 'words/extra.go' (at line 8: undeclared name: undefinedHelper)",
    ),
    "go/vet_printf_subpackage": Expect("go", "fmt.Printf call needs 1 arg but has 2 args", 1, "words/extra.go", 7, 2),
    # cargo: the warnings after an error are not failures
    "cargo/build_warnings_and_error": Expect(
        "cargo", "error[E0382]: borrow of moved value: `s`", 1, "src/main.rs", 5, 23, locations=1
    ),
}

SUCCEEDED = [
    "pytest/success",
    "pytest/success_quiet",
    "pytest/no_tests_collected",  # exit 5: nothing failed, the caller reports the exit code
    "python/success",
    "python/handled_exit0",  # a logged, handled traceback with exit 0 is no crash
    "unittest/success",
    "mypy/success",
    "tsc/success",
    "eslint/warnings_only",
    "go/test_success",
    "go/build_success",
    "go/vet_success",
    "cargo/test_success",
    "cargo/build_success",
    "gcc/warnings_only",
    "javac/success",
    "cargo/build_warnings_only",  # warnings alone never fail a build
    "ruff/success",
    "flake8/success",
    "node/test_runner_success",
    "jest/success",
    "vitest/success",
]


def _all_cases() -> list[str]:
    return sorted(f"{p.parent.name}/{p.stem}" for p in FIXTURES.glob("*/*.txt"))


def test_every_fixture_has_an_expectation_and_metadata() -> None:
    cases = _all_cases()
    assert len(cases) >= 80
    assert sorted([*CASES, *SUCCEEDED]) == cases
    for case in cases:
        meta, _ = load(case)
        assert set(meta) == {"commandLine", "cwd", "exitCode"}
        assert isinstance(meta["exitCode"], int)


@pytest.mark.parametrize("case", sorted(CASES))
def test_parses_captured_failure(case: str) -> None:
    expect = CASES[case]
    failure = run(case)
    assert failure is not None
    assert failure.tool == expect.tool
    assert failure.title == expect.title
    assert len(failure.title) < 120
    assert failure.failed == expect.failed
    if expect.path is None:
        assert failure.location is None
    else:
        assert failure.location is not None
        assert (failure.location.path, failure.location.line) == (expect.path, expect.line)
        assert failure.location.column == expect.column
        assert failure.locations[0] == failure.location
    if expect.locations is not None:
        assert len(failure.locations) == expect.locations
    assert len(failure.locations) <= MAX_LOCATIONS
    if expect.summary is not None:
        assert failure.summary == expect.summary


@pytest.mark.parametrize("case", SUCCEEDED)
def test_successful_runs_give_none(case: str) -> None:
    assert run(case) is None


@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "pytest/usage_error"))
def test_output_shape_alone_finds_the_same_failure(case: str) -> None:
    """Behind a wrapper (make, npm test, a script) the command names no tool: the shape must do."""
    named, sniffed = run(case), run(case, "./ci.sh")
    assert named is not None and sniffed is not None
    assert (sniffed.title, sniffed.failed, sniffed.location) == (named.title, named.failed, named.location)
    assert sniffed.tool == ("cargo" if named.tool == "rustc" else named.tool)


def test_primary_location_is_never_library_code() -> None:
    for case in CASES:
        failure = run(case)
        assert failure is not None
        for loc in failure.locations:
            assert not is_library_path(loc.path), (case, loc)


def test_coloured_output_reads_like_plain_output() -> None:
    pairs = [
        ("pytest/one_failure", "pytest/color_one_failure"),
        ("pytest/several_files", "pytest/color_several"),
        ("eslint/stylish", "eslint/color"),
        ("cargo/build_errors", "cargo/build_color"),
        ("tsc/project", "tsc/project_pretty"),
    ]
    for plain, coloured in pairs:
        a, b = run(plain), run(coloured)
        assert a is not None and b is not None
        assert (a.title, a.summary, a.failed, a.locations) == (b.title, b.summary, b.failed, b.locations)


def test_exit_code_zero_is_trusted_unless_the_named_tool_reports_failures() -> None:
    _, crash = load("python/script_crash")
    assert registry.parse("./run.sh", crash, 0) is None
    assert registry.parse("python app.py", crash, 0) is None
    _, tests = load("pytest/one_failure")
    assert registry.parse("make test", tests, 0) is None
    piped = registry.parse("pytest tests/test_core.py | tee log.txt", tests, 0)  # tee's exit code
    assert piped is not None and piped.failed == 1
    unknown = registry.parse("./run.sh", crash, None)
    assert unknown is not None and unknown.tool == "python"


def test_unknown_failure_gives_none() -> None:
    assert parse_failure("make deploy", "make: *** No rule to make target 'deploy'.  Stop.\n", 2) is None
    assert parse_failure("ls nope", "ls: cannot access 'nope': No such file or directory\n", 2) is None
    assert parse_failure("pytest", "", 1) is None


def test_summary_reads_as_a_sentence() -> None:
    meta, output = load("pytest/exitfirst")
    failure = parse_failure(meta["commandLine"], output, meta["exitCode"], meta["cwd"])
    event = TerminalCommand(time=0.0, command_line=meta["commandLine"], exit_code=1, failure=failure)
    assert event.sentence() == (
        "The user ran 'pytest -x tests' in the terminal; "
        "1 test failed in 'tests/test_core.py' (test_add: assert 4 == 3)."
    )


def test_truncated_tail_still_parses() -> None:
    """The editor forwards only a tail: losing the beginning must not lose the failure."""
    meta, output = load("pytest/several_files")
    tail = output[output.index("test_add_cases[-1-1-0]") :]
    failure = registry.parse(meta["commandLine"], tail, 1, meta["cwd"])
    assert failure is not None and failure.failed == 7 and failure.title == "tests/test_core.py::test_add"
    for case in CASES:
        meta, output = load(case)
        registry.parse(meta["commandLine"], output[len(output) // 2 :], meta["exitCode"], meta["cwd"])


def test_windows_line_ends_and_carriage_returns() -> None:
    meta, output = load("go/test_fail")
    crlf = registry.parse(meta["commandLine"], output.replace("\n", "\r\n"), 1)
    assert crlf is not None and crlf.failed == 3
    progress = "Compiling 1/3\rCompiling 2/3\r" + load("cargo/build_errors")[1]
    failure = registry.parse("cargo build", progress, 101)
    assert failure is not None and failure.failed == 4


# --- ANSI -------------------------------------------------------------------------------------


def test_strip_ansi_removes_every_escape_kind() -> None:
    assert strip_ansi("\x1b[1m\x1b[31mFAILED\x1b[0m x") == "FAILED x"
    assert strip_ansi("a\x1b(Bb\x1b[mc") == "abc"  # terminfo sgr0, as mypy prints it
    assert strip_ansi("\x1b]0;title\x07text") == "text"  # OSC with BEL
    assert strip_ansi("\x1b]8;;file:///x\x1b\\link\x1b]8;;\x1b\\") == "link"  # OSC 8 hyperlink, ST
    assert strip_ansi("\x1b[1G\x1b[0Kspin") == "spin"  # npx spinner cursor moves
    assert strip_ansi("\x9b31mred") == "red"  # 8-bit CSI
    assert strip_ansi("✖ 5 problems ‘x’") == "✖ 5 problems ‘x’"


def test_strip_ansi_on_real_coloured_outputs() -> None:
    for case in ("pytest/color_one_failure", "cargo/build_color", "eslint/color", "mypy/pretty_color", "gcc/color"):
        _, output = load(case)
        assert "\x1b" in output
        assert "\x1b" not in strip_ansi(output)
    _, coloured = load("pytest/color_one_failure")
    assert "tests/test_core.py:6: AssertionError" in strip_ansi(coloured)


# --- command lines ----------------------------------------------------------------------------


def test_command_line_wrappers() -> None:
    progs = [i.program for i in invocations("FOO=1 uv run python -m pytest -x && npx tsc --noEmit | tee out")]
    assert progs == ["pytest", "tsc", "tee"]
    assert invocations(".venv/bin/python3.11 app.py --fast")[0].program == "python"
    assert invocations("time go test ./...")[0].args == ("test", "./...")
    assert invocations("echo 'unterminated")[0].program == "echo"
    assert invocations("") == ()


# --- robustness -------------------------------------------------------------------------------

_LINES = [line for case in _all_cases() for line in load(case)[1].splitlines()]
_COMMANDS = [*sorted({load(case)[0]["commandLine"] for case in _all_cases()}), "make", "./ci.sh", ""]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    command=st.one_of(st.sampled_from(_COMMANDS), st.text(max_size=80)),
    output=st.text(max_size=3000),
    exit_code=st.one_of(st.none(), st.integers(-1000, 1000)),
)
def test_random_text_never_raises(command: str, output: str, exit_code: int | None) -> None:
    result = registry.parse(command, output, exit_code, "/tmp")
    assert result is None or isinstance(result, Failure)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    command=st.sampled_from(_COMMANDS),
    lines=st.lists(st.one_of(st.sampled_from(_LINES), st.text(max_size=40)), max_size=80),
    exit_code=st.sampled_from([None, 0, 1, 2, 101]),
)
def test_shuffled_real_lines_never_raise(command: str, lines: list[str], exit_code: int | None) -> None:
    """Real lines in unreal orders drive the parsers' state machines into odd corners."""
    result = registry.parse(command, "\n".join(lines), exit_code)
    if result is not None:
        assert len(result.title) < 120 and len(result.locations) <= MAX_LOCATIONS


def _timed(command: str, output: str) -> float:
    start = time.perf_counter()
    parse_failure(command, output, 1, "/tmp")
    return time.perf_counter() - start


def test_binary_and_huge_inputs_return_promptly() -> None:
    rng = random.Random(7)
    binary = bytes(rng.randrange(256) for _ in range(3_000_000)).decode("latin-1")
    real = "\n".join(load(case)[1] for case in _all_cases())
    huge = real * (6_000_000 // len(real) + 1)  # several MB of real tool output
    assert len(huge) > 5_000_000
    for command in ("pytest", "cargo test", "./ci.sh", "go test ./..."):
        assert _timed(command, binary) < 5
        assert _timed(command, huge) < 5


@pytest.mark.parametrize(
    "line",
    [
        "thread 'a' panicked at '" + "', " * 3000,
        "    at " + "(" * 8000,
        "_" * 8000,
        "=" * 4000 + " " + "= " * 4000,
        "FAILED " + " - " * 4000,
        "a:" * 8000,
        "--> " + ":1" * 8000,
        'File "' + "x" * 8000,
        "\x1b]" * 50000,
        "\x1b[" + "1;" * 50000,
        "panic: " + " [recovered]" * 2000,
        "src/a.ts(" * 3000,
        "  1:1  error  " + "a  " * 4000,
    ],
)
def test_pathological_lines_are_linear(line: str) -> None:
    output = "\n".join([line] * 60)
    for command in ("pytest", "cargo test", "./ci.sh", "node app.js", "eslint .", "tsc"):
        assert _timed(command, output) < 2, command
