"""Rules on git events: go through the conflicts of a merge, commit what the tests just passed.

Both rules only read the context (and, for conflicts, the conflicted file from disk to find its first
marker). The commit rule drafts a message and shows it; it never runs git.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from proactive_ls.events import (
    DocumentEdited,
    EventBase,
    GitCommitted,
    GitOperation,
    GitWorktreeChanged,
    TerminalCommand,
)
from proactive_ls.proposals import Anchor, OpenLocation, Range, ShowMarkdown, Suggestion
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules import Rule
from proactive_ls.sensing.paths import path_to_uri, uri_to_path

CONFLICT_MARKER = "<<<<<<<"
MAX_CONFLICT_FILE_BYTES = 5_000_000
LARGE_DIFF_LINES = 50
LARGE_DIFF_FILES = 3
SUBJECT_MAX = 72


# -- conflicts ---------------------------------------------------------------------------------------


def _first_marker(path: Path) -> tuple[int, str] | None:
    """(0-based line, line text) of the first ``<<<<<<<`` marker in the file, if any."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CONFLICT_FILE_BYTES)
    except OSError:
        return None
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines()):
        if line.startswith(CONFLICT_MARKER) and (len(line) == 7 or line[7] in " \t"):
            return number, line
    return None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _still_in_progress(ctx: ProposalContext, started: GitOperation) -> bool:
    at = next((i for i, e in enumerate(ctx.history) if e is started), None)
    after = ctx.history[at + 1 :] if at is not None else []
    return not any(isinstance(e, GitOperation) and e.repo == started.repo and e.state != "started" for e in after)


def _quoted_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(f"'{i}'" for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def conflicted_files(ctx: ProposalContext) -> Suggestion | None:
    """A merge, rebase, cherry-pick or revert stopped on conflicts: open the first conflict marker."""
    started = next(
        (e for e in reversed(ctx.new_events) if isinstance(e, GitOperation) and e.state == "started" and e.conflicted),
        None,
    )
    if started is None or not _still_in_progress(ctx, started):
        return None
    root = Path(started.repo) if started.repo else (Path(ctx.workspace_roots[0]) if ctx.workspace_roots else None)
    if root is None:
        return None
    files = started.conflicted
    # The first conflicted file with a marker; a conflict without markers (deleted on one side,
    # binary) opens the first file at its top.
    target, line, text = root / files[0], 0, ""
    for name in files:
        found = _first_marker(root / name)
        if found is not None:
            target, (line, text) = root / name, found
            break
    uri = path_to_uri(target)
    rng = Range.line(line, 0, _utf16_len(text))
    n = len(files)
    plural = "s" if n != 1 else ""
    return Suggestion(
        task=f"Resolve the merge conflicts in {n} file{plural}",
        message=(
            f"The {started.operation} stopped with conflicts in {_quoted_list(files)}. "
            f"Go to the first conflict marker, in '{target.relative_to(root).as_posix()}'?"
        ),
        purpose=f"The {started.operation} cannot go on until the conflicted files are resolved and staged.",
        anchor=Anchor(uri=uri, range=rng),
        operation=OpenLocation(uri=uri, range=rng),
        key=f"git-conflicts:{started.repo}:{','.join(sorted(files))}",
    )


# -- commit after passing tests ----------------------------------------------------------------------

_SEGMENT_SPLIT = re.compile(r"&&|\|\||[;|]")
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*\s+")
_WRAPPER = re.compile(
    r"^(?:(?:uv|poetry|pipenv|pdm|rye|hatch)\s+run|npx|bunx|pnpm\s+exec|pnpm\s+dlx|yarn\s+dlx|bundle\s+exec|"
    r"time|nice|xvfb-run(?:\s+-a)?|timeout\s+\S+|dotenv\s+--|env|sudo|coverage\s+run\s+-m)\s+"
)
_TEST_COMMAND = re.compile(
    r"""^(?:
        (?:\S*/)?(?:py\.?test|tox|nox|ctest|rspec|phpunit|jest|vitest|mocha|ava|karma|pest|trial|nose2?|behave)
      | (?:\S*/)?python[\d.]*\s+(?:-\w+\s+){0,3}-m\s+(?:pytest|unittest|nose2?|trial|tox)
      | (?:\S*/)?python[\d.]*\s+(?:\S*/)?manage\.py\s+test
      | (?:npm|yarn|pnpm|bun)\s+(?:run\s+)?test(?::[\w:.-]+)?
      | npm\s+(?:t|it|run\s+test\S*)
      | (?:go|cargo|deno|swift|mix|dotnet|hatch|bazel|bazelisk|sbt|lein
         |stack|cabal|flutter|dart|meson|zig\s+build)\s+test
      | cargo\s+nextest
      | (?:\S*/)?(?:mvn|mvnw|gradle|gradlew)\s+(?:[\w:.=-]+\s+){0,5}(?:test|check|verify|build)
      | make\s+(?:[\w.=-]+\s+){0,3}(?:test|tests|check)
    )(?=\s|$)""",
    re.VERBOSE,
)


def looks_like_test_run(command_line: str) -> bool:
    """Whether any part of a shell command runs a test suite (``pytest -x``, ``uv run pytest``,
    ``npm test``, ``go test ./...``, ``cd app && cargo test``...)."""
    for segment in _SEGMENT_SPLIT.split(command_line):
        seg = segment.strip()
        for _ in range(6):
            stripped = _WRAPPER.sub("", _ENV_ASSIGN.sub("", seg))
            if stripped == seg:
                break
            seg = stripped
        if _TEST_COMMAND.match(seg):
            return True
    return False


def _name(definition: str) -> str:
    """'function `parse_args`' -> 'parse_args'."""
    found = re.search(r"`([^`]+)`", definition)
    return found.group(1) if found else definition


def _edit_path(event: EventBase, repo: Path) -> str | None:
    """The edited file relative to the repository, or None when it is elsewhere."""
    if event.uri:
        path = uri_to_path(event.uri)
        if path is not None:
            try:
                return path.relative_to(repo).as_posix()
            except ValueError:
                return None
    return event.path


def _join(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def draft_commit_message(
    edits: list[DocumentEdited], repo: Path, files: int, insertions: int, deletions: int, test_command: str
) -> str:
    """A commit message from the definitions the edits added, removed, renamed and changed."""
    per_file: dict[str, dict[str, list[str]]] = {}
    for e in edits:
        where = _edit_path(e, repo)
        if where is None:
            continue
        slot = per_file.setdefault(where, {"add": [], "remove": [], "rename": [], "update": []})
        slot["add"] += e.added
        slot["remove"] += e.removed
        slot["rename"] += [f"{old} to {new}" for old, new in e.renamed]
        slot["update"] += [d for d in e.definitions if d not in e.added]

    def names(verb: str) -> list[str]:
        return _unique([_name(d) for slot in per_file.values() for d in slot[verb]])

    added, removed, renamed = names("add"), names("remove"), names("rename")
    updated = [n for n in names("update") if n not in added]
    clauses = []
    for verb, items in (("Add", added), ("Rename", renamed), ("Remove", removed), ("Update", updated)):
        if items:
            clauses.append(f"{verb} {_join(items[:3])}" + (" and more" if len(items) > 3 else ""))
    subject = "; ".join(clauses[:1] + [c[0].lower() + c[1:] for c in clauses[1:]])
    if not subject or len(subject) > SUBJECT_MAX:
        subject = clauses[0] if clauses and len(clauses[0]) <= SUBJECT_MAX else ""
    if not subject:
        touched = [Path(p).name for p in per_file] or []
        subject = f"Update {_join(touched[:3])}" if touched and len(touched) <= 3 else f"Update {files} files"
    body = []
    for where, slot in per_file.items():
        parts = []
        for verb in ("add", "rename", "remove", "update"):
            items = _unique(slot[verb])
            if items:
                shown = ", ".join(items[:4]) + (f" and {len(items) - 4} more" if len(items) > 4 else "")
                parts.append(f"{verb} {shown}")
        body.append(f"- {where}: {'; '.join(parts) if parts else 'edit'}")
    lines = [subject[:SUBJECT_MAX], ""]
    lines += body[:12]
    if len(body) > 12:
        lines.append(f"- and {len(body) - 12} more files")
    if body:
        lines.append("")
    lines.append(
        f"{files} file{'s' if files != 1 else ''} changed (+{insertions} -{deletions}); tested with `{test_command}`."
    )
    return "\n".join(lines)


def _index(history: Sequence[EventBase], event: EventBase) -> int:
    return next(i for i, e in enumerate(history) if e is event)


def _latest(history: Sequence[EventBase], kind: type, repo: str | None = None) -> EventBase | None:
    return next((e for e in reversed(history) if isinstance(e, kind) and (repo is None or e.repo == repo)), None)


def commit_after_tests(ctx: ProposalContext) -> Suggestion | None:
    """Tests just passed and a large diff is uncommitted: show a drafted commit message."""
    run = next(
        (
            e
            for e in reversed(ctx.new_events)
            if isinstance(e, TerminalCommand)
            and e.exit_code == 0
            and e.failure is None
            and looks_like_test_run(e.command_line)
        ),
        None,
    )
    if run is None:
        return None
    repos = [e.repo for e in ctx.history if isinstance(e, GitWorktreeChanged) and e.repo]
    if not repos:
        return None
    repo = repos[-1]  # the repository the tests ran in, else the one whose diff changed last
    if run.cwd:
        repo = next((r for r in reversed(repos) if Path(run.cwd).is_relative_to(r)), repo)
    diff = _latest(ctx.history, GitWorktreeChanged, repo)
    assert isinstance(diff, GitWorktreeChanged)
    lines = diff.insertions + diff.deletions
    if lines < LARGE_DIFF_LINES and diff.files < LARGE_DIFF_FILES:
        return None
    last_commit = _latest(ctx.history, GitCommitted, repo)
    if last_commit is not None and _index(ctx.history, last_commit) > _index(ctx.history, diff):
        return None  # committed since the diff was measured
    since = _index(ctx.history, last_commit) + 1 if last_commit is not None else 0
    edits = [e for e in ctx.history[since:] if isinstance(e, DocumentEdited)]
    message = draft_commit_message(edits, Path(repo), diff.files, diff.insertions, diff.deletions, run.command_line)
    anchor = None
    last_edit = next((e for e in reversed(edits) if e.uri), None)
    if last_edit is not None and last_edit.uri:
        anchor = Anchor(uri=last_edit.uri, range=Range.line(last_edit.first_line))
    head = (
        last_commit.sha
        if isinstance(last_commit, GitCommitted)
        else f"diff-{diff.files}-{diff.insertions}-{diff.deletions}"
    )
    markdown = (
        f"`{run.command_line}` passed with {diff.files} file{'s' if diff.files != 1 else ''} changed "
        f"(+{diff.insertions} -{diff.deletions} lines) and not committed in `{repo}`.\n\n"
        "A draft commit message from the definitions you changed:\n\n"
        f"```text\n{message}\n```\n\n"
        "Nothing has been committed. Review the changes (`git diff`), then commit with this message "
        "(`git commit -e -F <file>`, or paste it into your editor's commit box).\n"
    )
    return Suggestion(
        task="Commit the tested changes",
        message=(
            f"The tests passed and {diff.files} file{'s are' if diff.files != 1 else ' is'} uncommitted "
            f"(+{diff.insertions} -{diff.deletions} lines). Show a drafted commit message?"
        ),
        purpose="A large change that just passed its tests is a good point to commit.",
        anchor=anchor,
        operation=ShowMarkdown(title="Commit message draft", markdown=markdown),
        key=f"git-commit:{repo}:{head}",
    )


RULES: list[Rule] = [conflicted_files, commit_after_tests]
