"""`serve --record`: a real server session writes a redacted recording, and it replays to the same proposals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from proactive_ls.lsp import protocol
from proactive_ls.lsp.recorder import HELD_LINE_CHARS, Recorder, held_line, minimal_change
from proactive_ls.replay.engine import Replayer, replay_file, replay_settings
from proactive_ls.replay.format import ReplayFormatError
from proactive_ls.replay.loaders import recording_as_session
from proactive_ls.replay.over_lsp import replay_over_lsp
from proactive_ls.sensing.mirror import DocumentMirror
from tests.conftest import run_pytest
from tests.lsp_client import SERVER_COMMAND, ProactiveClient, eventually, start_session

TOKEN = "ghp_" + "Zq8" * 12  # the shape of a GitHub token: 36 characters after the prefix
# A token with no repeated 4-gram, so any 4 characters of it found in a recording are a fragment of it.
TYPED = "ghp_Xk9mQ2vL8nR4tY7wB3cF6hJ1pD5sG0aE9uZW"
PASSWORD = "hunter2-correct-horse"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _open(client: ProactiveClient, path: Path, text: str, language: str) -> str:
    uri = path.as_uri()
    item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    return uri


def _insert(client: ProactiveClient, uri: str, line: int, character: int, text: str, version: int) -> None:
    pos = types.Position(line=line, character=character)
    change = types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text=text)
    doc = types.VersionedTextDocumentIdentifier(uri=uri, version=version)
    client.text_document_did_change(types.DidChangeTextDocumentParams(text_document=doc, content_changes=[change]))


def _save(client: ProactiveClient, uri: str) -> None:
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))


def _terminal(client: ProactiveClient, command: str, cwd: Path, code: int, output: str) -> None:
    client.protocol.notify(
        protocol.TERMINAL_COMMAND,
        {"commandLine": command, "cwd": str(cwd), "exitCode": code, "output": output, "durationMs": 300},
    )


@pytest.fixture
async def recorded(tmp_path: Path, calc_project: Path) -> tuple[Path, list[dict]]:
    """A real session over stdio with `serve --record`: secrets in a .env file, in its output and in a test run."""
    import asyncio

    dotenv = calc_project / ".env"
    dotenv.write_text(f"API_TOKEN={TOKEN}\nDEBUG=1\n")
    recording = tmp_path / "session.recording.jsonl"
    client = await start_session(
        calc_project, tmp_path / "feedback.jsonl", command=[*SERVER_COMMAND, "--record", str(recording)]
    )
    try:
        env_uri = _open(client, dotenv, dotenv.read_text(), "dotenv")
        _insert(client, env_uri, 1, 0, f"DB_PASSWORD={PASSWORD}\n", 2)
        _save(client, env_uri)
        calc_uri = _open(client, calc_project / "calc.py", (calc_project / "calc.py").read_text(), "python")
        _insert(client, calc_uri, 24, 0, "    # the mean of the values\n", 2)
        await asyncio.sleep(0.3)
        _save(client, calc_uri)
        _terminal(client, "cat .env", calc_project, 0, dotenv.read_text())
        code, output = run_pytest(calc_project)
        assert code == 1
        _terminal(client, "python -m pytest", calc_project, code, output + f"\nAuthorization: Bearer {BEARER}\n")
        proposal = await client.next_proposal()
        await asyncio.sleep(0.3)
    finally:
        await client.shutdown_session()
    return recording, [proposal]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def test_the_recording_is_every_client_message_timestamped_and_redacted(
    recorded: tuple[Path, list[dict]],
) -> None:
    recording, _ = recorded
    raw = recording.read_text(encoding="utf-8")
    lines = _lines(recording)
    head, body = lines[0], lines[1:]
    assert head["format"] == "proactive-ls/recording" and head["version"] == 1 and isinstance(head["started"], float)
    methods = [line["message"].get("method") for line in body]
    assert methods[:2] == ["initialize", "initialized"]
    assert methods.count("textDocument/didOpen") == 2 and methods.count(protocol.TERMINAL_COMMAND) == 2
    assert methods[-2:] == ["shutdown", "exit"]
    times = [line["t"] for line in body]
    assert times == sorted(times) and head["started"] <= times[0]

    # No secret survives, wherever it was: in an excluded file, in its output, in a test run's output.
    for secret in (TOKEN, PASSWORD, BEARER):
        assert secret not in raw
    by_method = {}
    for line in body:
        by_method.setdefault(line["message"].get("method"), []).append(line)
    env_open, calc_open = by_method["textDocument/didOpen"]
    assert env_open["excluded"] is True and env_open["message"]["params"]["textDocument"]["text"] == "\n\n"
    assert "excluded" not in calc_open and "def average" in calc_open["message"]["params"]["textDocument"]["text"]
    env_change = by_method["textDocument/didChange"][0]
    assert env_change["excluded"] is True and env_change["message"]["params"]["contentChanges"][0]["text"] == "\n"
    cat, pytest_run = by_method[protocol.TERMINAL_COMMAND]
    assert cat["message"]["params"]["output"] == "" and cat["excluded"] is True
    output = pytest_run["message"]["params"]["output"]
    assert "test_precedence" in output and "[REDACTED:" in output


async def test_the_recording_replays_to_the_proposals_the_live_session_made(recorded: tuple[Path, list[dict]]) -> None:
    recording, live = recorded
    engine = await replay_file(recording)
    server = await replay_over_lsp(recording, {})
    assert [p.task for p in engine.proposals] == [p["task"] for p in live]
    for replayed, original in zip(engine.proposals, live, strict=True):
        wire = replayed.wire()
        for field in ("task", "message", "key", "anchor", "operation", "proposer"):
            assert wire[field] == original[field]
        assert [o["Event"] for o in wire["observations"]] == [o["Event"] for o in original["observations"]]
        assert abs(wire["createdAt"] - original["createdAt"]) < 0.1
    strip = lambda r: [{k: v for k, v in s["proposal"].items() if k != "id"} for s in r.steps]  # noqa: E731
    assert strip(server) == strip(engine)


async def test_the_recording_as_a_session(
    recorded: tuple[Path, list[dict]], tmp_path: Path, calc_project: Path
) -> None:
    recording, _ = recorded
    session = recording_as_session(recording)
    assert session.workspace == calc_project.resolve()
    assert "feedbackLog" not in session.header.settings  # a replay must not write to the recorded session's log
    assert session.header.settings["quietPeriodMs"] == 150
    kinds = [a.action for a in session.actions]
    assert kinds.count("open") == 2 and kinds.count("terminal") == 2 and kinds.count("save") == 2
    assert session.header.model_extra["skipped"] == {"exit": 1, "initialized": 1, "shutdown": 1}

    # The project moved: every path and URI follows it.
    moved = tmp_path / "elsewhere"
    shutil.copytree(calc_project, moved)
    relocated = recording_as_session(recording, workspace=moved)
    settings = replay_settings(relocated)
    result = await Replayer(relocated, settings).run()
    [proposal] = result.proposals
    assert proposal.anchor is not None and proposal.anchor.uri == (moved.resolve() / "tests" / "test_calc.py").as_uri()
    assert all(str(calc_project) not in json.dumps(a.model_dump()) for a in relocated.actions)


def test_a_torn_last_line_is_skipped_and_a_foreign_file_is_refused(tmp_path: Path) -> None:
    recording = tmp_path / "r.jsonl"
    head = {"format": "proactive-ls/recording", "version": 1, "started": 1.0}
    init = {
        "t": 1.0,
        "message": {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"rootUri": tmp_path.as_uri(), "capabilities": {}},
        },
    }
    term = {
        "t": 2.0,
        "message": {
            "jsonrpc": "2.0",
            "method": protocol.TERMINAL_COMMAND,
            "params": {"commandLine": "make", "exitCode": 2},
        },
    }
    recording.write_text("\n".join(json.dumps(x) for x in (head, init, term)) + '\n{"t": 3.0, "mess')
    session = recording_as_session(recording)
    assert [a.action for a in session.actions] == ["terminal"]
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"format": "something-else"}) + "\n")
    with pytest.raises(ReplayFormatError, match="not a proactive-ls recording"):
        recording_as_session(other)


def test_replay_cli_reads_a_recording(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "recorded-session" / "recording.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "replay", "--json", str(example)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    [summary] = json.loads(proc.stdout)
    assert summary["tasks"] == json.loads((example.parent / "expect.json").read_text())["tasks"]


async def test_a_token_typed_one_key_at_a_time_is_not_in_the_recording(tmp_path: Path, calc_project: Path) -> None:
    """The recorder redacts the document, not each message: no line holds the token or a part of it
    long enough to matter, and replaying the recording does not rebuild it."""
    recording = tmp_path / "typed.recording.jsonl"
    client = await start_session(
        calc_project, tmp_path / "feedback.jsonl", command=[*SERVER_COMMAND, "--record", str(recording)]
    )
    path = calc_project / "calc.py"
    try:
        uri = _open(client, path, path.read_text(), "python")
        typed = f'GITHUB = "{TOKEN}"\n'
        for i, ch in enumerate(typed):
            _insert(client, uri, 0, i, ch, 2 + i)
        _save(client, uri)
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["events"] >= 1
    finally:
        await client.shutdown_session()
    raw = recording.read_text(encoding="utf-8")
    assert TOKEN not in raw and TOKEN[4:20] not in raw  # neither whole nor a long part of it
    body = _lines(recording)[1:]
    changes = [line for line in body if line["message"].get("method") == "textDocument/didChange"]
    # Rebuilding the document from the recording (every change applied to the opened text, as a
    # replay does) gives the text with the token redacted, not the token.
    text = _rebuild(body)
    assert TOKEN not in text
    assert text.startswith('GITHUB = "[REDACTED:') and "def average" in text
    assert sum(line.get("coalesced", 1) for line in changes) == len(typed) and len(changes) < len(typed)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab\r\n😀é", max_size=12), st.text(alphabet="ab\r\n😀é", max_size=12))
def test_the_minimal_change_turns_one_text_into_the_other(before: str, after: str) -> None:
    for encoding in ("utf-16", "utf-8", "utf-32"):
        change = minimal_change(before, after, encoding)
        mirror = DocumentMirror(before, encoding)  # type: ignore[arg-type]
        start, end = change["range"]["start"], change["range"]["end"]
        mirror.apply_change((start["line"], start["character"]), (end["line"], end["character"]), change["text"])
        assert mirror.text == after


def _rebuild(body: list[dict]) -> str:
    """The document as a replay rebuilds it: the didOpen's text with every recorded change applied."""
    opened = next(line for line in body if line["message"].get("method") == "textDocument/didOpen")
    mirror = DocumentMirror(opened["message"]["params"]["textDocument"]["text"])
    for line in body:
        if line["message"].get("method") != "textDocument/didChange":
            continue
        for change in line["message"]["params"]["contentChanges"]:
            if "range" in change:
                start, end = change["range"]["start"], change["range"]["end"]
                mirror.apply_change(
                    (start["line"], start["character"]), (end["line"], end["character"]), change["text"]
                )
            else:
                mirror.replace_all(change["text"])
    return mirror.text


def _fragments(secret: str, text: str) -> list[str]:
    """The 4-character pieces of `secret` that occur in `text`."""
    return sorted({secret[i : i + 4] for i in range(len(secret) - 3) if secret[i : i + 4] in text})


def _joined(body: list[dict]) -> str:
    """Every text the recording's changes insert, joined in order: what an attacker could glue back."""
    return "".join(
        change["text"]
        for line in body
        if line["message"].get("method") == "textDocument/didChange"
        for change in line["message"]["params"]["contentChanges"]
    )


def _recorded_changes(recording: Path) -> int:
    """How many didChange messages the recording's lines stand for so far."""
    if not recording.exists():
        return 0
    lines = [json.loads(x) for x in recording.read_text(encoding="utf-8").splitlines()[1:] if x.endswith("}")]
    return sum(x.get("coalesced", 1) for x in lines if x["message"].get("method") == "textDocument/didChange")


async def _recording_deploy_py(
    tmp_path: Path, calc_project: Path, name: str, settings: dict | None = None
) -> tuple[ProactiveClient, Path, str]:
    """A recorded session with a new ``deploy.py`` open: (client, recording, the document's URI)."""
    recording = tmp_path / f"{name}.recording.jsonl"
    client = await start_session(
        calc_project,
        tmp_path / "feedback.jsonl",
        command=[*SERVER_COMMAND, "--record", str(recording)],
        settings=settings,
    )
    path = calc_project / "deploy.py"
    path.write_text("import os\n\n")
    return client, recording, _open(client, path, path.read_text(), "python")


def _type(client: ProactiveClient, uri: str, line: int, column: int, text: str, version: int) -> int:
    """Type `text` one key per didChange at (line, column) of a line being written; the next version."""
    for ch in text:
        _insert(client, uri, line, column, ch, version)
        version += 1
        if ch == "\n":
            line, column = line + 1, 0
        else:
            column += 1
    return version


async def test_a_token_typed_with_a_pause_longer_than_the_burst_leaves_no_fragment(
    tmp_path: Path, calc_project: Path
) -> None:
    """The first half of a token is a burst of its own (the pause ends it), yet the recording holds
    no piece of it: the line at the cursor is held back until it is done, then redacted whole."""
    client, recording, uri = await _recording_deploy_py(tmp_path, calc_project, "paused")
    try:
        first = 'GITHUB = "' + TYPED[:20]
        version = _type(client, uri, 2, 0, first, 2)
        # The pause: the first half's burst has ended and is on disk (editQuietMs is 100 ms here).
        await eventually(lambda: _recorded_changes(recording) == len(first), timeout=15)
        second = TYPED[20:] + '"\n'
        version = _type(client, uri, 2, len(first), second, version)
        _type(client, uri, 3, 0, "print(os.name)\n", version)
        _save(client, uri)
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["events"] >= 1
    finally:
        await client.shutdown_session()
    raw = recording.read_text(encoding="utf-8")
    body = _lines(recording)[1:]
    assert _fragments(TYPED, raw) == [] and "ghp_" not in raw
    assert _fragments(TYPED, _joined(body)) == []
    assert _rebuild(body) == 'import os\n\nGITHUB = "[REDACTED:github_token]"\nprint(os.name)\n'
    changes = [line for line in body if line["message"].get("method") == "textDocument/didChange"]
    assert sum(line.get("coalesced", 1) for line in changes) == len(first) + len(second) + len("print(os.name)\n")


async def test_a_server_killed_mid_burst_leaves_a_valid_recording_with_no_secret(
    tmp_path: Path, calc_project: Path
) -> None:
    """SIGKILL during a burst that editQuietMs (10 minutes here) would never end: what was typed
    before the last FLUSH_EVERY_S is on disk, the half-typed token is not, and the file loads."""
    client, recording, uri = await _recording_deploy_py(tmp_path, calc_project, "killed", {"editQuietMs": 600_000})
    server = client._server
    assert server is not None
    try:
        typed = "TIMEOUT = 30\n"
        version = _type(client, uri, 2, 0, typed, 2)
        # Written while the burst goes on: only the periodic flush can have done it.
        await eventually(lambda: _recorded_changes(recording) == len(typed), timeout=15)
        assert "TIMEOUT = 30" in _rebuild(_lines(recording)[1:])
        _type(client, uri, 3, 0, 'TOKEN_B = "' + TYPED[:30], version)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        await server.wait()
        try:
            await client.stop()
        except Exception:
            pass
    raw = recording.read_text(encoding="utf-8")
    lines = raw.splitlines()
    assert all(json.loads(line) for line in lines)  # no torn line: each one is written whole
    assert _fragments(TYPED, raw) == [] and "ghp_" not in raw
    body = _lines(recording)[1:]
    assert _fragments(TYPED, _joined(body)) == []
    text = _rebuild(body)
    head = "import os\n\nTIMEOUT = 30\n"
    assert text.startswith(head) and 'TOKEN_B = "'.startswith(text[len(head) :]), text
    session = recording_as_session(recording)  # and it loads as a replay session
    assert [a.action for a in session.actions][:1] == ["open"]


def test_the_held_line_is_the_line_of_the_cursor_up_to_it() -> None:
    assert held_line('a = 1\nx = "ghp_abc"\nb = 2\n', 15) == (6, 15)
    assert held_line("a = 1\r\nb", 8) == (7, 8)
    assert held_line("a = 1\n", 6) == (6, 6)  # on the empty line after a line break: nothing is held
    assert held_line("", 0) == (0, 0)
    long = "a" * (3 * HELD_LINE_CHARS)
    assert held_line(long, len(long) // 2) == (len(long) // 2 - HELD_LINE_CHARS, len(long) // 2)


async def test_a_passphrase_typed_word_by_word_in_a_long_burst_leaves_no_word(
    tmp_path: Path, calc_project: Path
) -> None:
    """Words typed over several periodic flushes (editQuietMs never ends the burst): the line is held
    until a line break ends it, then redacted whole."""
    client, recording, uri = await _recording_deploy_py(tmp_path, calc_project, "phrase", {"editQuietMs": 600_000})
    words = ["Quokka7", "Zephyr9", "Marmot4", "Vortex2"]
    try:
        version, column = 2, 0
        head = 'db_password = "'
        version = _type(client, uri, 2, 0, head, version)
        column = len(head)
        for i, word in enumerate(words):
            typed = word + (" " if i < len(words) - 1 else "")
            version = _type(client, uri, 2, column, typed, version)
            column += len(typed)
            sent = version - 2
            # A periodic flush has written everything typed so far (the burst itself goes on).
            await eventually(lambda sent=sent: _recorded_changes(recording) == sent, timeout=15)
        _type(client, uri, 2, column, '"\n', version)
        _save(client, uri)
        await client.execute(protocol.COMMAND_STATUS)
    finally:
        await client.shutdown_session()
    raw = recording.read_text(encoding="utf-8")
    assert [w for w in words if w in raw] == []
    body = _lines(recording)[1:]
    assert [w for w in words if w in _joined(body)] == []
    assert _rebuild(body) == 'import os\n\ndb_password = "[REDACTED:password]"\n'


def test_whole_text_changes_and_a_saved_text_keep_the_held_line_out(tmp_path: Path) -> None:
    """A client that syncs whole texts, pausing mid-token, then saving with includeText: the
    recorder finds the cursor by comparing texts, and the didSave's text is the recorded one."""
    path = tmp_path / "r.jsonl"
    recorder = Recorder(SimpleNamespace(), path)
    uri = (tmp_path / "app.py").as_uri()
    open_ = {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}
    recorder.record({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": open_}, now=1.0)
    typed = 'key = "' + TYPED
    for i in range(1, len(typed) + 1):
        if i == 20:
            recorder.flush()  # the pause
        change = {"textDocument": {"uri": uri, "version": 1 + i}, "contentChanges": [{"text": "x = 1\n" + typed[:i]}]}
        recorder.record({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": change}, now=1.0 + i)
    save = {"textDocument": {"uri": uri}, "text": "x = 1\n" + typed}
    recorder.record({"jsonrpc": "2.0", "method": "textDocument/didSave", "params": save}, now=100.0)
    recorder.close()
    raw = path.read_text(encoding="utf-8")
    assert _fragments(TYPED, raw) == []
    body = _lines(path)[1:]
    assert _rebuild(body) == "x = 1\n"
    assert body[-1]["message"]["params"]["text"] == "x = 1\n"
