"""Paths in tool output resolve to the file the tool meant, on real directory layouts."""

from __future__ import annotations

import json
from pathlib import Path

from proactive_ls.events import TerminalCommand
from proactive_ls.proposals import OpenLocation, ShowMarkdown
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules.terminal import failed_command
from proactive_ls.sensing.terminal import parse_failure, registry
from proactive_ls.sensing.terminal.locate import locate, search_bases

FIXTURES = Path(__file__).parent / "fixtures" / "terminal"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def fixture(case: str) -> tuple[dict, str]:
    return json.loads((FIXTURES / f"{case}.json").read_text()), (FIXTURES / f"{case}.txt").read_text()


def test_go_test_from_the_module_root_names_the_file_in_its_package(tmp_path: Path) -> None:
    write(tmp_path, {"go.mod": "module example.com/gowords\n\ngo 1.19\n", "words/words_test.go": "package words\n"})
    meta, output = fixture("go/test_subpackage")
    failure = registry.parse(meta["commandLine"], output, meta["exitCode"], str(tmp_path))
    assert failure is not None and failure.location is not None
    assert (failure.location.path, failure.location.line) == ("words/words_test.go", 15)
    assert locate(failure.location.path, str(tmp_path), [tmp_path]) == tmp_path / "words/words_test.go"


def test_go_test_in_a_subdirectory_of_the_module(tmp_path: Path) -> None:
    write(tmp_path, {"go.mod": "module example.com/gowords\n", "words/words_test.go": "package words\n"})
    meta, output = fixture("go/test_subpackage")
    failure = registry.parse(meta["commandLine"], output, meta["exitCode"], str(tmp_path / "cmd"))
    assert failure is not None and failure.location is not None
    assert failure.location.path == str(tmp_path / "words/words_test.go")  # outside the cwd: absolute


def test_cd_before_the_tool_and_pytest_rootdir(tmp_path: Path) -> None:
    write(tmp_path, {"svc/tests/test_api.py": "def test_x(): pass\n", "lib/calc/core.py": "x = 1\n"})
    found = locate("tests/test_api.py", str(tmp_path), [tmp_path], "cd svc && pytest")
    assert found == tmp_path / "svc/tests/test_api.py"
    found = locate("calc/core.py", str(tmp_path / "svc"), [tmp_path], "pytest --rootdir=../lib")
    assert found == tmp_path / "lib/calc/core.py"


def test_tsc_project_and_root_dir(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "packages/web/tsconfig.json": '{\n  // comments are allowed\n  "compilerOptions": {"rootDir": "src"}\n}\n',
            "packages/web/src/app.ts": "export const x = 1;\n",
        },
    )
    bases = search_bases("tsc -p packages/web/tsconfig.json", str(tmp_path))
    assert tmp_path / "packages/web" in bases and tmp_path / "packages/web/src" in bases
    found = locate("app.ts", str(tmp_path), [tmp_path], "tsc -p packages/web/tsconfig.json")
    assert found == tmp_path / "packages/web/src/app.ts"


def test_cargo_workspace_member_paths_are_relative_to_the_workspace_root(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
            "crates/parser/Cargo.toml": '[package]\nname = "parser"\n',
            "crates/parser/src/lib.rs": "pub fn f() {}\n",
        },
    )
    # cargo runs rustc at the workspace root, so a member's file is printed from there
    found = locate("crates/parser/src/lib.rs", str(tmp_path / "crates/parser"), [tmp_path], "cargo test")
    assert found == tmp_path / "crates/parser/src/lib.rs"


def test_maven_frames_resolve_under_the_module_sources(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pom.xml": "<project/>\n",
            "src/test/java/com/example/words/WordsTest.java": "class WordsTest {}\n",
        },
    )
    meta, output = fixture("maven/test_failures")
    failure = registry.parse(meta["commandLine"], output, meta["exitCode"], str(tmp_path))
    assert failure is not None and failure.location is not None
    found = locate(failure.location.path, str(tmp_path), [tmp_path], meta["commandLine"])
    assert found == tmp_path / "src/test/java/com/example/words/WordsTest.java"


def test_an_ambiguous_name_goes_to_the_file_that_has_the_failing_symbol(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/words/words_test.go": "package words\n\nfunc TestLongest(t *testing.T) {}\n",
            "b/words/words_test.go": "package words\n\nfunc TestCount(t *testing.T) {}\n",
            "c/other.go": "package c\n",
        },
    )
    assert locate("words_test.go", str(tmp_path), [tmp_path], "go test ./...", ["TestCount"]) == (
        tmp_path / "b/words/words_test.go"
    )
    assert locate("words_test.go", str(tmp_path), [tmp_path], "go test ./...", ["TestLongest"]) == (
        tmp_path / "a/words/words_test.go"
    )
    assert locate("nowhere_test.go", str(tmp_path), [tmp_path], "go test ./...", ["TestCount"]) is None


def ctx_for(event: TerminalCommand, root: Path) -> ProposalContext:
    return ProposalContext(history=[event], new_events=[event], now=event.time + 1, workspace_roots=[str(root)])


def test_the_rule_opens_the_go_failure_from_the_module_root(tmp_path: Path) -> None:
    """The case from the issue: `go test ./...` at the root, the failure in a subpackage."""
    write(tmp_path, {"go.mod": "module example.com/gowords\n", "words/words_test.go": "package words\n" * 20})
    meta, output = fixture("go/test_subpackage")
    event = TerminalCommand(
        time=1.0,
        command_line=meta["commandLine"],
        cwd=str(tmp_path),
        exit_code=1,
        failure=parse_failure(meta["commandLine"], output, 1, str(tmp_path)),
        output_tail=output,
    )
    suggestion = failed_command(ctx_for(event, tmp_path))
    assert suggestion is not None and isinstance(suggestion.operation, OpenLocation)
    assert suggestion.operation.uri == (tmp_path / "words/words_test.go").as_uri()
    assert suggestion.operation.range.start.line == 14


def test_an_unparsed_failure_shows_the_last_lines_only_when_asked(tmp_path: Path) -> None:
    output = "step 1\nstep 2\nsomething went wrong, see above\n"
    assert parse_failure("./deploy.sh", output, 3) is None
    failure = parse_failure("./deploy.sh", output, 3, unparsed=True)
    assert failure is not None and failure.location is None and failure.title == "exit code 3"
    assert parse_failure("./deploy.sh", output, 0, unparsed=True) is None
    event = TerminalCommand(
        time=1.0, command_line="./deploy.sh", cwd=str(tmp_path), exit_code=3, failure=failure, output_tail=output
    )
    suggestion = failed_command(ctx_for(event, tmp_path))
    assert suggestion is not None and isinstance(suggestion.operation, ShowMarkdown)
    assert "Show its last lines?" in suggestion.message
    assert "something went wrong, see above" in suggestion.operation.markdown
    plain = event.model_copy(update={"failure": None})
    assert failed_command(ctx_for(plain, tmp_path)) is None


def test_a_pytest_node_id_gives_the_test_definition(tmp_path: Path) -> None:
    from proactive_ls.sensing.terminal.locate import definition_of_test

    write(
        tmp_path,
        {"tests/test_io.py": "import x\n\n\nclass TestReader:\n    async def test_reads(self):\n        pass\n"},
    )
    found = definition_of_test("tests/test_io.py::TestReader::test_reads[utf-8]", str(tmp_path), [tmp_path])
    assert found == (tmp_path / "tests/test_io.py", 5)
    assert definition_of_test("tests/test_io.py::test_missing", str(tmp_path), [tmp_path]) is None
    assert definition_of_test("TypeError: boom", str(tmp_path), [tmp_path]) is None
