"""Through the real server: a real merge conflict is noticed and proposed; secrets never reach the log."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lsprotocol import types

from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import eventually, read_log, start_session


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=check,
    )


def conflicting_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("def greet():\n    return 'hello'\n\n\ndef other():\n    return 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    git(repo, "checkout", "-qb", "feature")
    (repo / "app.py").write_text("def greet():\n    return 'bonjour'\n\n\ndef other():\n    return 1\n")
    git(repo, "commit", "-qam", "French")
    git(repo, "checkout", "-q", "main")
    (repo / "app.py").write_text("def greet():\n    return 'hallo'\n\n\ndef other():\n    return 1\n")
    git(repo, "commit", "-qam", "German")
    return repo


async def test_a_merge_conflict_is_proposed_and_accepting_opens_the_first_marker(tmp_path: Path) -> None:
    repo = conflicting_repo(tmp_path)
    client = await start_session(repo, tmp_path / "log.jsonl", settings={"gitPollS": 0.2})
    try:
        assert await client.execute(protocol.COMMAND_STATUS)  # the session started watching
        merge = git(repo, "merge", "feature", check=False)
        assert merge.returncode != 0 and "CONFLICT" in merge.stdout
        proposal = await client.next_proposal(timeout=20)
        assert proposal["task"] == "Resolve the merge conflicts in 1 file"
        assert "'app.py'" in " ".join(o["Event"] for o in proposal["observations"])
        await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])
        shown = await client.wait_until(lambda: client.shown_documents[-1] if client.shown_documents else None)
        marker_line = (repo / "app.py").read_text().splitlines().index("<<<<<<< HEAD")
        assert shown.uri == (repo / "app.py").as_uri() and shown.selection.start.line == marker_line
    finally:
        await client.shutdown_session()


async def test_a_client_that_watches_files_is_asked_to_watch_git_state_and_its_reports_are_used(tmp_path: Path) -> None:
    repo = conflicting_repo(tmp_path)
    # Polling is slowed 15-fold when the client watches: only the notification can make this fast.
    client = await start_session(repo, tmp_path / "log.jsonl", watch_files=True, settings={"gitPollS": 60})
    try:
        registration = await client.wait_until(lambda: client.registrations[-1] if client.registrations else None)
        assert registration.method == "workspace/didChangeWatchedFiles"
        globs = [w["globPattern"] for w in registration.register_options["watchers"]]
        assert "**/.git/HEAD" in globs and "**/.git/MERGE_HEAD" in globs

        async def first_snapshot_in() -> bool:  # else its late event would pass for the notification's
            return bool((await client.execute(protocol.COMMAND_STATUS))["git"]["ready"] == 1)

        await eventually(first_snapshot_in, timeout=60)
        before = (await client.execute(protocol.COMMAND_STATUS))["events"]
        git(repo, "checkout", "-q", "feature")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=(repo / ".git" / "HEAD").as_uri(), type=types.FileChangeType.Changed)]
            )
        )

        async def noticed() -> bool:
            return (await client.execute(protocol.COMMAND_STATUS))["events"] > before

        # A bound for a loaded machine, still 15 times shorter than what the slowed polling alone takes (15 min).
        await eventually(noticed, timeout=60)
    finally:
        await client.shutdown_session()


async def test_secrets_typed_or_opened_never_reach_the_feedback_log(tmp_path: Path, calc_project: Path) -> None:
    log = tmp_path / "log.jsonl"
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    env_secret = "s3cr3t-db-passw0rd-7731"
    (calc_project / ".env").write_text(f"DATABASE_PASSWORD={env_secret}\n")
    client = await start_session(calc_project, log, settings={"ignoreAfterS": 0.5})
    try:
        env_uri = (calc_project / ".env").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=env_uri, language_id="dotenv", version=1, text=(calc_project / ".env").read_text()
                )
            )
        )
        calc_uri = (calc_project / "calc.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=calc_uri, language_id="python", version=1, text=(calc_project / "calc.py").read_text()
                )
            )
        )
        pos = types.Position(line=2, character=0)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=calc_uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=pos, end=pos), text=f'GITHUB_TOKEN = "{token}"\n'
                    )
                ],
            )
        )
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=calc_uri))
        )
        code, output = run_pytest(calc_project)
        # The command echoes both secrets, as a careless debugging print would.
        client.protocol.notify(
            protocol.TERMINAL_COMMAND,
            {
                "commandLine": f"TOKEN={token} pytest",
                "cwd": str(calc_project),
                "exitCode": code,
                "output": f"token={token}\nDATABASE_PASSWORD={env_secret}\n{output}",
            },
        )
        proposal = await client.next_proposal()
        await client.wait_until(lambda: client.resolved)  # recorded as ignored
        text = log.read_text()
        assert read_log(log)[0]["proposal_id"] == proposal["id"]
        assert token not in text and env_secret not in text
        assert token not in str(proposal) and env_secret not in str(proposal)
        assert "[REDACTED" in text
    finally:
        await client.shutdown_session()
