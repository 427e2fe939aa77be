"""The git rules of the embedded proposer, fed by a real GitWatcher on real repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from proactive_ls.events import (
    DocumentEdited,
    EventBase,
    GitCommitted,
    GitOperation,
    GitWorktreeChanged,
    TerminalCommand,
)
from proactive_ls.proposals import OpenLocation, ShowMarkdown
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules.git import (
    RULES,
    commit_after_tests,
    conflicted_files,
    draft_commit_message,
    looks_like_test_run,
)
from proactive_ls.sensing.git_state import GitWatcher
from proactive_ls.sensing.paths import path_to_uri
from tests.test_git_state import _isolated_git, commit, git, make_repo, write  # noqa: F401  (fixture reused)

T = 2000.0


def ctx_of(history: list[EventBase], new: int | None = None) -> ProposalContext:
    new_events = history[-new:] if new else history
    return ProposalContext(history=history, new_events=new_events, now=history[-1].time if history else T)


def conflicted_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo")
    header = "".join(f"# line {i}\n" for i in range(10))
    commit(repo, "Base", **{"calc.py": header + "def add(a, b):\n    return a + b\n", "notes.md": "one\n"})
    git(repo, "checkout", "-q", "-b", "feature")
    commit(
        repo,
        "Feature",
        **{"calc.py": header + "def add(a, b):\n    return b + a  # émoji ✓\n", "notes.md": "feature\n"},
    )
    git(repo, "checkout", "-q", "main")
    commit(repo, "Main", **{"calc.py": header + "def add(a, b):\n    return int(a) + int(b)\n", "notes.md": "main\n"})
    return repo


def test_conflict_rule_opens_the_first_marker(tmp_path: Path) -> None:
    repo = conflicted_repo(tmp_path)
    watcher = GitWatcher(repo)
    watcher.poll(T)
    git(repo, "merge", "feature", check=False)
    events = watcher.poll(T + 1)
    watcher.close()
    assert isinstance(events[0], GitOperation) and events[0].conflicted == ["calc.py", "notes.md"]

    suggestion = conflicted_files(ctx_of(events))
    assert suggestion is not None
    assert suggestion.task == "Resolve the merge conflicts in 2 files"
    assert "'calc.py', 'notes.md'" in suggestion.message
    lines = (repo / "calc.py").read_text().splitlines()
    marker = next(i for i, line in enumerate(lines) if line.startswith("<<<<<<<"))
    assert marker == 11  # after the 10 header lines and `def add`
    op = suggestion.operation
    assert isinstance(op, OpenLocation)
    assert op.uri == path_to_uri(repo / "calc.py")
    assert (op.range.start.line, op.range.start.character, op.range.end.character) == (marker, 0, len(lines[marker]))
    assert suggestion.anchor is not None and suggestion.anchor.range == op.range
    assert suggestion.key == f"git-conflicts:{repo}:calc.py,notes.md"


def test_conflict_rule_skips_files_without_markers(tmp_path: Path) -> None:
    repo = conflicted_repo(tmp_path)
    git(repo, "merge", "feature", check=False)
    write(repo / "calc.py", "def add(a, b):\n    return a + b\n")  # resolved in the editor, not yet staged
    started = GitOperation(time=T, repo=str(repo), operation="merge", conflicted=["calc.py", "notes.md"])
    suggestion = conflicted_files(ctx_of([started]))
    assert suggestion is not None and isinstance(suggestion.operation, OpenLocation)
    assert suggestion.operation.uri == path_to_uri(repo / "notes.md")
    assert suggestion.operation.range.start.line == 0  # notes.md starts with its marker


def test_conflict_rule_silent_once_the_operation_ended(tmp_path: Path) -> None:
    repo = conflicted_repo(tmp_path)
    started = GitOperation(time=T, repo=str(repo), operation="rebase", conflicted=["calc.py"])
    aborted = GitOperation(time=T + 1, repo=str(repo), operation="rebase", state="aborted")
    assert conflicted_files(ctx_of([started, aborted])) is None
    assert conflicted_files(ctx_of([GitOperation(time=T, repo=str(repo), operation="bisect")])) is None


@pytest.mark.parametrize(
    ("command", "is_test"),
    [
        ("pytest -x", True),
        ("python -m pytest tests/", True),
        ("uv run pytest -q", True),
        ("npm test", True),
        ("npm run test:unit", True),
        ("cd web && yarn test", True),
        ("go test ./...", True),
        ("cargo test", True),
        ("CI=1 npx jest", True),
        ("./gradlew test", True),
        ("make check", True),
        ("tox -e py311", True),
        ("pip install pytest", False),
        ("echo pytest", False),
        ("git commit -m test", False),
        ("ls tests", False),
        ("python app.py", False),
        ("npm install", False),
    ],
)
def test_test_command_detection(command: str, is_test: bool) -> None:
    assert looks_like_test_run(command) is is_test


def edited(repo: Path, rel: str, t: float, **fields: object) -> DocumentEdited:
    return DocumentEdited(time=t, uri=path_to_uri(repo / rel), path=rel, lines_changed=5, **fields)  # type: ignore[arg-type]


def big_change(tmp_path: Path) -> tuple[Path, list[EventBase]]:
    """A real repository with a large uncommitted diff, and the history an editor session makes."""
    repo = make_repo(tmp_path / "repo")
    watcher = GitWatcher(repo)
    watcher.poll(T)
    write(repo / "app.py", "x = 1\n" + "".join(f"def f{i}(a):\n    return a + {i}\n" for i in range(30)))
    write(repo / "cli.py", "def parse_args(argv):\n    return argv\n")
    git(repo, "add", "cli.py")
    diff_events = watcher.check(T + 5)
    watcher.close()
    assert diff_events[-1] == GitWorktreeChanged(time=T + 5, repo=str(repo), files=2, insertions=62, deletions=0)
    history: list[EventBase] = [
        edited(repo, "app.py", T + 1, definitions=["function `f1`"], added=["function `f1`", "function `f2`"]),
        edited(repo, "cli.py", T + 2, definitions=["function `parse_args`"], added=["function `parse_args`"]),
        edited(repo, "app.py", T + 3, definitions=["function `main`"], renamed=[("run", "main")]),
        *diff_events,
        TerminalCommand(time=T + 6, command_line="pytest -q", cwd=str(repo), exit_code=0),
    ]
    return repo, history


def test_commit_rule_drafts_a_message_and_never_runs_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, history = big_change(tmp_path)
    head_before = git(repo, "rev-parse", "HEAD")
    status_before = git(repo, "status", "--porcelain")

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the rule started a process: {args}")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    suggestion = commit_after_tests(ctx_of(history, new=1))
    monkeypatch.undo()

    assert suggestion is not None
    assert suggestion.task == "Commit the tested changes"
    op = suggestion.operation
    assert isinstance(op, ShowMarkdown) and op.title == "Commit message draft"
    draft = op.markdown.split("```text\n", 1)[1].split("\n```", 1)[0]
    subject, blank, *body = draft.splitlines()
    assert subject == "Add f1, f2 and parse_args; rename run to main; update main"
    assert blank == ""
    assert "- app.py: add function `f1`, function `f2`; rename run to main; update function `main`" in body
    assert "- cli.py: add function `parse_args`" in body
    assert body[-1] == "2 files changed (+62 -0); tested with `pytest -q`."
    assert "Nothing has been committed" in op.markdown
    assert suggestion.key == f"git-commit:{repo}:diff-2-62-0"
    assert suggestion.anchor is not None and suggestion.anchor.uri == path_to_uri(repo / "app.py")
    # Nothing happened to the repository.
    assert git(repo, "rev-parse", "HEAD") == head_before
    assert git(repo, "status", "--porcelain") == status_before


def test_commit_rule_keys_on_the_last_commit(tmp_path: Path) -> None:
    repo, history = big_change(tmp_path)
    earlier = GitCommitted(time=T + 0.5, repo=str(repo), sha="abc1234", summary="Earlier", branch="main")
    suggestion = commit_after_tests(ctx_of([earlier, *history], new=1))
    assert suggestion is not None and suggestion.key == f"git-commit:{repo}:abc1234"


def test_commit_rule_needs_passing_tests_and_a_large_diff(tmp_path: Path) -> None:
    repo, history = big_change(tmp_path)
    run = history[-1]
    assert isinstance(run, TerminalCommand)
    failed = run.model_copy(update={"exit_code": 1})
    not_tests = run.model_copy(update={"command_line": "python app.py"})
    assert commit_after_tests(ctx_of([*history[:-1], failed], new=1)) is None
    assert commit_after_tests(ctx_of([*history[:-1], not_tests], new=1)) is None
    # The test run is old news: not among the new events.
    assert commit_after_tests(ctx_of([*history, edited(repo, "app.py", T + 7)], new=1)) is None
    small = GitWorktreeChanged(time=T + 5, repo=str(repo), files=2, insertions=20, deletions=3)
    assert commit_after_tests(ctx_of([*history[:-2], small, run], new=1)) is None
    three_files = small.model_copy(update={"files": 3})
    assert commit_after_tests(ctx_of([*history[:-2], three_files, run], new=1)) is not None
    # Committed after the diff was measured: nothing left to propose.
    done = GitCommitted(time=T + 5.5, repo=str(repo), sha="def5678", summary="Done", branch="main")
    assert commit_after_tests(ctx_of([*history[:-1], done, run], new=1)) is None


def test_draft_without_definitions_names_the_files(tmp_path: Path) -> None:
    repo = tmp_path
    edits = [edited(repo, "docs/guide.md", T), edited(repo, "README.md", T + 1)]
    draft = draft_commit_message(edits, repo, files=2, insertions=80, deletions=4, test_command="make test")
    assert draft.splitlines()[0] == "Update guide.md and README.md"
    assert "- docs/guide.md: edit" in draft


def test_rules_are_registered() -> None:
    assert RULES == [conflicted_files, commit_after_tests]
