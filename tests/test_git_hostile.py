"""A hostile ``.git/config`` runs nothing: fsmonitor, hooks, filters, textconv, external diff and merge
drivers are blanked on every git call of the server (``sensing/git_safety.py``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types

from proactive_ls.lsp import protocol
from proactive_ls.sensing import git_safety
from proactive_ls.sensing.git_state import GitWatcher, find_repositories
from proactive_ls.sensing.redaction.gitignore import GitignoreCache
from tests.lsp_client import eventually, start_session

KEYS = ("fsmonitor", "clean", "smudge", "process", "textconv", "command", "external", "merge", "hook")


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "d@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "d@example.com",
    }
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return proc.stdout


def hostile_repo(root: Path, marks: Path) -> Path:
    """A repository whose config names a command for every hook git has, each leaving a mark."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitattributes").write_text("*.py filter=evil diff=evil merge=evil\n")
    (repo / "app.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "init")
    marks.mkdir()

    def mark(name: str) -> str:
        return f"touch {marks / name}; cat"

    hooks = repo / "evil-hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "pre-commit", "post-checkout", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\ntouch {marks / 'hook'}\n")
        (hooks / hook).chmod(0o755)
    config = {
        "core.fsmonitor": f"touch {marks / 'fsmonitor'}; false",
        "core.hooksPath": str(hooks),
        "filter.evil.clean": mark("clean"),
        "filter.evil.smudge": mark("smudge"),
        "filter.evil.process": f"touch {marks / 'process'}",
        "filter.evil.required": "true",
        "diff.evil.textconv": mark("textconv"),
        "diff.evil.command": mark("command"),
        "diff.external": mark("external"),
        "merge.evil.driver": mark("merge"),
    }
    for key, value in config.items():
        git(repo, "config", key, value)
    # A modified file whose stat differs from the index: status and diff must look at its content.
    (repo / "app.py").write_text("x = 2\ny = 3\n")
    os.utime(repo / "app.py", (1, 1))
    return repo


def test_the_override_list_blanks_every_driver_the_config_names(tmp_path: Path) -> None:
    repo = hostile_repo(tmp_path, tmp_path / "marks")
    keys = dict(git_safety.driver_overrides(repo))
    assert keys["filter.evil.clean"] == keys["filter.evil.process"] == keys["diff.evil.textconv"] == ""
    assert keys["merge.evil.driver"] == "" and keys["filter.evil.required"] == "false"
    env = git_safety.full_env(repo)
    assert int(env["GIT_CONFIG_COUNT"]) == len(git_safety.FIXED_OVERRIDES) + len(keys)


def test_a_hostile_config_runs_nothing_from_the_watcher_or_redaction(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    repo = hostile_repo(tmp_path, marks)
    # Sanity: plain git does run them (so the test below can fail).
    subprocess.run(["git", "diff", "HEAD", "--stat"], cwd=repo, capture_output=True, check=False)
    assert sorted(p.name for p in marks.iterdir()), "this git does not run the hostile config: the test is void"
    for p in marks.iterdir():
        p.unlink()

    assert find_repositories(repo) == [repo.resolve()]
    watcher = GitWatcher(repo)
    snap = watcher.snapshot()
    assert snap.files == 1 and snap.changed == ["app.py"]
    watcher.poll(1000.0)
    watcher.check(1001.0)
    assert GitignoreCache().ignored([(0, repo / "app.py"), (1, repo / "new.txt")]) == [(0, False), (1, False)]
    watcher.close()
    assert [p.name for p in marks.iterdir()] == []


def test_a_driver_added_while_watching_is_blanked_too(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    repo = hostile_repo(tmp_path, marks)
    watcher = GitWatcher(repo)
    watcher.snapshot()
    (repo / ".gitattributes").write_text("*.py filter=later diff=later\n")
    git(repo, "config", "filter.later.clean", f"touch {marks / 'later'}; cat")
    git(repo, "config", "diff.later.textconv", f"touch {marks / 'later'}; cat")
    os.utime(repo / "app.py", (2, 2))
    watcher.snapshot()
    watcher.close()
    assert [p.name for p in marks.iterdir()] == []


@pytest.mark.parametrize("kind", ["stdio"])
async def test_the_real_server_in_a_hostile_repository_runs_nothing(tmp_path: Path, kind: str) -> None:
    marks = tmp_path / "marks"
    repo = hostile_repo(tmp_path, marks)
    client = await start_session(repo, tmp_path / "log.jsonl", settings={"gitPollS": 0.1})
    try:
        uri = (repo / "app.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, (repo / "app.py").read_text()))
        )

        async def baseline_taken() -> bool:
            return bool((await client.execute(protocol.COMMAND_STATUS))["git"]["ready"] == 1)

        await eventually(baseline_taken)  # a switch before the first snapshot would be the baseline itself
        before = (await client.execute(protocol.COMMAND_STATUS))["events"]
        # The test's own switch is hardened too: only the server could leave a mark.
        subprocess.run(
            git_safety.argv("checkout", "-q", "-b", "other"), cwd=repo, env=git_safety.full_env(repo), check=True
        )

        async def noticed() -> bool:
            return bool((await client.execute(protocol.COMMAND_STATUS))["events"] > before)

        await eventually(noticed, timeout=10)  # the server has run status and diff after the switch
    finally:
        await client.shutdown_session()
    assert [p.name for p in marks.iterdir()] == []
