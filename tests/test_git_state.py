"""GitWatcher on real repositories made with the git CLI in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from proactive_ls.events import (
    GitBranchSwitched,
    GitCommitted,
    GitOperation,
    GitStaged,
    GitWorktreeChanged,
)
from proactive_ls.sensing.git_state import GitWatcher, RepoSnapshot, find_repositories

T = 1000.0


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config, a fixed identity, no editor."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Dev")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Dev")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "dev@example.com")
    monkeypatch.setenv("GIT_EDITOR", "true")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def sha(cwd: Path, rev: str = "HEAD") -> str:
    return git(cwd, "rev-parse", rev).strip()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def commit(cwd: Path, message: str, **files: str) -> None:
    for name, text in files.items():
        write(cwd / name, text)
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    commit(path, "Initial commit", **{"app.py": "x = 1\n", "README.md": "hello\n"})
    return path.resolve()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def watcher(repo: Path):
    w = GitWatcher(repo)
    assert w.poll(T) == []  # the baseline
    yield w
    w.close()


def conflicting_branches(repo: Path) -> None:
    """`main` and `feature` both change the line of app.py and of README.md."""
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "Feature change", **{"app.py": "x = 2\n", "README.md": "hello feature\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "Main change", **{"app.py": "x = 3\n", "README.md": "hello main\n"})


# -- discovery ---------------------------------------------------------------------------------------


def test_plain_folder_has_no_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    write(folder / "notes.txt", "nothing\n")
    assert find_repositories(folder) == []


def test_subfolder_finds_its_repository(repo: Path) -> None:
    (repo / "pkg").mkdir()
    assert find_repositories(repo / "pkg") == [repo]


def test_linked_worktree(repo: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(wt), "-b", "topic")
    wt = wt.resolve()
    assert (wt / ".git").is_file()
    assert find_repositories(wt) == [wt]

    main_watcher, wt_watcher = GitWatcher(repo), GitWatcher(wt)
    assert wt_watcher.git_dir == repo / ".git" / "worktrees" / "wt"
    assert wt_watcher.common_dir == repo / ".git"
    assert "**/.git/worktrees/wt/HEAD" in wt_watcher.watch_globs()
    assert main_watcher.poll(T) == [] and wt_watcher.poll(T) == []
    assert wt_watcher.snapshot().branch == "topic"

    commit(wt, "Work in the worktree", **{"app.py": "x = 10\n"})
    assert wt_watcher.poll(T + 1) == [
        GitCommitted(time=T + 1, repo=str(wt), sha=sha(wt)[:7], summary="Work in the worktree", branch="topic"),
    ]
    # The main work tree's HEAD, index and branch did not move: no snapshot, no event.
    assert main_watcher.poll(T + 1) == []
    main_watcher.close()
    wt_watcher.close()


def test_submodule(tmp_path: Path) -> None:
    lib = make_repo(tmp_path / "lib")
    parent = make_repo(tmp_path / "parent")
    git(parent, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(parent, "commit", "-q", "-m", "Add lib")
    sub = parent / "vendor" / "lib"
    assert find_repositories(parent) == [parent, sub]

    w, pw = GitWatcher(sub), GitWatcher(parent)
    assert pw.poll(T) == []
    assert w.git_dir == parent / ".git" / "modules" / "vendor" / "lib"
    assert "**/.git/modules/vendor/lib/HEAD" in w.watch_globs()
    assert w.poll(T) == []
    commit(sub, "Patch the library", **{"app.py": "x = 42\n"})
    assert w.poll(T + 1) == [
        GitCommitted(time=T + 1, repo=str(sub), sha=sha(sub)[:7], summary="Patch the library", branch="main"),
    ]
    # The superproject sees a moved submodule pointer in its uncommitted diff (on check: no state file moved).
    assert pw.poll(T + 2) == []
    assert pw.check(T + 2) == [GitWorktreeChanged(time=T + 2, repo=str(parent), files=1, insertions=1, deletions=1)]
    w.close()
    pw.close()


# -- events ------------------------------------------------------------------------------------------


def test_no_stamp_change_means_git_is_not_asked(
    watcher: GitWatcher, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "app.py", "x = 1\ny = 2\n")  # a worktree edit touches no git state file

    def boom() -> RepoSnapshot:
        raise AssertionError("git was asked although no state file changed")

    monkeypatch.setattr(watcher, "_take_snapshot", boom)
    assert watcher.poll(T + 1) == []


def test_staging_then_commit(watcher: GitWatcher, repo: Path) -> None:
    write(repo / "app.py", "x = 1\n" + "".join(f"y{i} = {i}\n" for i in range(12)))
    write(repo / "lib.py", "def f():\n    return 1\n")
    git(repo, "add", "app.py", "lib.py")
    assert watcher.poll(T + 1) == [
        GitStaged(time=T + 1, repo=str(repo), files=["app.py", "lib.py"]),
        GitWorktreeChanged(time=T + 1, repo=str(repo), files=2, insertions=14, deletions=0),
    ]
    assert watcher.poll(T + 2) == []  # nothing moved since

    git(repo, "commit", "-q", "-m", "Add lib and counters\n\nLonger body.")
    assert watcher.poll(T + 3) == [
        GitCommitted(time=T + 3, repo=str(repo), sha=sha(repo)[:7], summary="Add lib and counters", branch="main"),
        GitWorktreeChanged(time=T + 3, repo=str(repo), files=0, insertions=0, deletions=0),
    ]


def test_staged_set_unchanged_is_not_reported_again(watcher: GitWatcher, repo: Path) -> None:
    write(repo / "app.py", "x = 5\n")
    git(repo, "add", "app.py")
    assert [type(e) for e in watcher.poll(T + 1)] == [GitStaged, GitWorktreeChanged]
    write(repo / "app.py", "x = 6\n")
    git(repo, "add", "app.py")  # the index changes, the staged set does not
    assert watcher.poll(T + 2) == []


def test_worktree_diff_reported_only_when_it_changes_meaningfully(watcher: GitWatcher, repo: Path) -> None:
    body = "".join(f"line {i}\n" for i in range(100))
    write(repo / "README.md", "hello\n" + body)
    assert watcher.check(T + 1) == [
        GitWorktreeChanged(time=T + 1, repo=str(repo), files=1, insertions=100, deletions=0)
    ]
    write(repo / "README.md", "hello\n" + body + "one more\n" * 5)  # +5%: not meaningful
    assert watcher.check(T + 2) == []
    write(repo / "README.md", "hello\n" + body + "one more\n" * 25)  # +25% since the last report
    assert watcher.check(T + 3) == [
        GitWorktreeChanged(time=T + 3, repo=str(repo), files=1, insertions=125, deletions=0)
    ]
    write(repo / "app.py", "x = 2\n")  # one more file
    assert watcher.check(T + 4) == [
        GitWorktreeChanged(time=T + 4, repo=str(repo), files=2, insertions=126, deletions=1)
    ]
    snap = watcher.snapshot()
    assert (snap.files, snap.insertions, snap.deletions, snap.changed) == (2, 126, 1, ["README.md", "app.py"])


def test_branch_switch(watcher: GitWatcher, repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/login")
    assert watcher.poll(T + 1) == [GitBranchSwitched(time=T + 1, repo=str(repo), old="main", new="feature/login")]
    git(repo, "checkout", "-q", "--detach", "HEAD")
    assert watcher.poll(T + 2) == [GitBranchSwitched(time=T + 2, repo=str(repo), old="feature/login", new=None)]
    git(repo, "checkout", "-q", "main")
    assert watcher.poll(T + 3) == [GitBranchSwitched(time=T + 3, repo=str(repo), old=None, new="main")]


def test_commits_bounded_and_amend(watcher: GitWatcher, repo: Path) -> None:
    for i in range(13):
        commit(repo, f"Step {i}", **{"app.py": f"x = {i}\n"})
    events = watcher.poll(T + 1)
    assert [e.summary for e in events if isinstance(e, GitCommitted)] == [f"Step {i}" for i in range(3, 13)]
    git(repo, "commit", "-q", "--amend", "-m", "Step 12, reworded")
    assert watcher.poll(T + 2) == [
        GitCommitted(time=T + 2, repo=str(repo), sha=sha(repo)[:7], summary="Step 12, reworded", branch="main"),
    ]


def test_fast_forward_and_reset_are_not_user_commits(watcher: GitWatcher, repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "topic")
    commit(repo, "Topic work", **{"app.py": "x = 7\n"})
    git(repo, "checkout", "-q", "main")
    watcher.poll(T + 1)
    git(repo, "merge", "-q", "--ff-only", "topic")
    assert watcher.poll(T + 2) == []
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    assert watcher.poll(T + 3) == []


def test_merge_conflict_then_resolved(watcher: GitWatcher, repo: Path) -> None:
    conflicting_branches(repo)
    watcher.poll(T + 1)
    git(repo, "merge", "feature", check=False)
    events = watcher.poll(T + 2)
    assert events[0] == GitOperation(
        time=T + 2, repo=str(repo), operation="merge", state="started", conflicted=["README.md", "app.py"]
    )
    assert [type(e) for e in events[1:]] == [GitWorktreeChanged]  # the markers are uncommitted lines
    assert watcher.snapshot().conflicted == ["README.md", "app.py"]

    write(repo / "app.py", "x = 23\n")
    git(repo, "add", "app.py")
    # The user resolved and staged app.py; README.md is still unmerged, so no new conflict.
    assert watcher.poll(T + 3)[0] == GitStaged(time=T + 3, repo=str(repo), files=["app.py"])
    write(repo / "README.md", "hello both\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "--no-edit")
    assert watcher.poll(T + 4) == [
        GitCommitted(time=T + 4, repo=str(repo), sha=sha(repo)[:7], summary="Merge branch 'feature'", branch="main"),
        GitOperation(time=T + 4, repo=str(repo), operation="merge", state="finished"),
        GitWorktreeChanged(time=T + 4, repo=str(repo), files=0, insertions=0, deletions=0),
    ]


def test_merge_abort(watcher: GitWatcher, repo: Path) -> None:
    conflicting_branches(repo)
    watcher.poll(T + 1)
    git(repo, "merge", "feature", check=False)
    watcher.poll(T + 2)
    git(repo, "merge", "--abort")
    assert watcher.poll(T + 3) == [
        GitOperation(time=T + 3, repo=str(repo), operation="merge", state="aborted"),
        GitWorktreeChanged(time=T + 3, repo=str(repo), files=0, insertions=0, deletions=0),
    ]


def test_conflict_in_progress_at_startup_is_reported(repo: Path) -> None:
    conflicting_branches(repo)
    git(repo, "merge", "feature", check=False)
    w = GitWatcher(repo)
    assert w.poll(T) == [
        GitOperation(time=T, repo=str(repo), operation="merge", state="started", conflicted=["README.md", "app.py"])
    ]
    assert w.poll(T + 1) == []
    w.close()


def test_rebase_conflict_keeps_the_branch(watcher: GitWatcher, repo: Path) -> None:
    conflicting_branches(repo)
    git(repo, "checkout", "-q", "feature")
    assert watcher.poll(T + 1) == [
        GitBranchSwitched(time=T + 1, repo=str(repo), old="main", new="feature"),
        GitCommitted(
            time=T + 1, repo=str(repo), sha=sha(repo, "feature")[:7], summary="Feature change", branch="feature"
        ),
        GitCommitted(time=T + 1, repo=str(repo), sha=sha(repo, "main")[:7], summary="Main change", branch="main"),
    ]
    git(repo, "rebase", "main", check=False)
    snap = watcher.snapshot()
    assert (snap.operation, snap.branch, snap.detached) == ("rebase", "feature", True)
    events = watcher.poll(T + 2)
    assert events[0] == GitOperation(
        time=T + 2, repo=str(repo), operation="rebase", state="started", conflicted=["README.md", "app.py"]
    )
    assert not any(isinstance(e, (GitBranchSwitched, GitCommitted)) for e in events)

    git(repo, "rebase", "--abort")
    events = watcher.poll(T + 3)
    assert events[0] == GitOperation(time=T + 3, repo=str(repo), operation="rebase", state="aborted")
    assert not any(isinstance(e, (GitBranchSwitched, GitCommitted)) for e in events)


def test_rebase_conflict_continued(watcher: GitWatcher, repo: Path) -> None:
    conflicting_branches(repo)
    git(repo, "checkout", "-q", "feature")
    git(repo, "rebase", "main", check=False)
    watcher.poll(T + 1)
    write(repo / "app.py", "x = 5\n")
    write(repo / "README.md", "hello rebased\n")
    git(repo, "add", "app.py", "README.md")
    git(repo, "rebase", "--continue")
    events = watcher.poll(T + 2)
    assert events[0] == GitOperation(time=T + 2, repo=str(repo), operation="rebase", state="finished")
    assert not any(isinstance(e, (GitBranchSwitched, GitCommitted)) for e in events)
    assert watcher.snapshot().branch == "feature"


def test_cherry_pick_conflict_and_abort(watcher: GitWatcher, repo: Path) -> None:
    conflicting_branches(repo)
    watcher.poll(T + 1)
    git(repo, "cherry-pick", "feature", check=False)
    events = watcher.poll(T + 2)
    assert events[0] == GitOperation(
        time=T + 2, repo=str(repo), operation="cherry-pick", state="started", conflicted=["README.md", "app.py"]
    )
    git(repo, "cherry-pick", "--abort")
    assert watcher.poll(T + 3)[0] == GitOperation(time=T + 3, repo=str(repo), operation="cherry-pick", state="aborted")


def test_revert_conflict(watcher: GitWatcher, repo: Path) -> None:
    commit(repo, "Second", **{"app.py": "x = 2\n"})
    commit(repo, "Third", **{"app.py": "x = 3\n"})
    watcher.poll(T + 1)
    git(repo, "revert", "--no-edit", "HEAD~1", check=False)
    events = watcher.poll(T + 2)
    assert events[0] == GitOperation(
        time=T + 2, repo=str(repo), operation="revert", state="started", conflicted=["app.py"]
    )
    write(repo / "app.py", "x = 1\n")
    git(repo, "add", "app.py")
    git(repo, "revert", "--continue")
    events = watcher.poll(T + 3)
    assert events[:2] == [
        GitCommitted(time=T + 3, repo=str(repo), sha=sha(repo)[:7], summary='Revert "Second"', branch="main"),
        GitOperation(time=T + 3, repo=str(repo), operation="revert", state="finished"),
    ]


def test_bisect_finished_and_aborted(watcher: GitWatcher, repo: Path) -> None:
    for i in range(2, 6):
        commit(repo, f"Change {i}", **{"app.py": f"x = {i}\n"})
    watcher.poll(T + 1)
    git(repo, "bisect", "start", "HEAD", "HEAD~4")
    assert watcher.poll(T + 2) == [GitOperation(time=T + 2, repo=str(repo), operation="bisect", state="started")]
    assert watcher.snapshot().branch == "main"  # HEAD is detached on a candidate, the branch is main
    while "is the first bad commit" not in git(repo, "bisect", "bad"):
        pass
    watcher.poll(T + 3)
    git(repo, "bisect", "reset")
    assert watcher.poll(T + 4) == [GitOperation(time=T + 4, repo=str(repo), operation="bisect", state="finished")]

    git(repo, "bisect", "start", "HEAD", "HEAD~4")
    watcher.poll(T + 5)
    git(repo, "bisect", "reset")
    assert watcher.poll(T + 6) == [GitOperation(time=T + 6, repo=str(repo), operation="bisect", state="aborted")]


def test_unborn_branch(tmp_path: Path) -> None:
    repo = (tmp_path / "new").resolve()
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    w = GitWatcher(repo)
    assert w.poll(T) == []
    write(repo / "a.py", "a = 1\nb = 2\n")
    git(repo, "add", "a.py")
    assert w.poll(T + 1) == [
        GitStaged(time=T + 1, repo=str(repo), files=["a.py"]),
        GitWorktreeChanged(time=T + 1, repo=str(repo), files=1, insertions=2, deletions=0),
    ]
    git(repo, "commit", "-q", "-m", "First")
    assert w.poll(T + 2)[0] == GitCommitted(
        time=T + 2, repo=str(repo), sha=sha(repo)[:7], summary="First", branch="main"
    )
    w.close()


def test_watch_globs_and_stamps(watcher: GitWatcher, repo: Path) -> None:
    globs = watcher.watch_globs()
    for expected in (
        "**/.git/HEAD",
        "**/.git/index",
        "**/.git/MERGE_HEAD",
        "**/.git/rebase-merge",
        "**/.git/refs/heads/**",
    ):
        assert expected in globs
    stamps = watcher.stamps()
    assert {"HEAD", "index", "refs/heads/main", "logs/HEAD"} <= stamps.keys()
    assert "MERGE_HEAD" not in stamps
    git(repo, "checkout", "-q", "-b", "other")
    assert "refs/heads/other" in watcher.stamps()


def test_index_refreshed_by_another_tool_is_not_an_event(watcher: GitWatcher, repo: Path) -> None:
    before = watcher.stamps()
    os.utime(repo / "app.py", ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))  # same content, new stat
    git(repo, "update-index", "--refresh", check=False)  # what an editor's git integration does
    assert watcher.stamps() != before  # git rewrote the index...
    assert watcher.poll(T + 1) == []  # ...but nothing the user did changed
