"""`proactive-ls stats`, `feedback purge`, retention and rotation, over real logs and the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from proactive_ls.feedback.lifecycle import purge, rotate, rotated, segments
from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord
from proactive_ls.lsp import protocol
from proactive_ls.proposals import ModelTask, OpenLocation, Proposal, Range
from tests.lsp_client import eventually, read_log, start_session

DAY = 86400.0


def _proposal(pid: str, kind: str, at: float, language: str | None = "python", proposer: str = "local") -> Proposal:
    op = ModelTask() if kind == "model_task" else OpenLocation(uri="file:///a.py", range=Range.line(0))
    return Proposal(
        id=pid,
        task=f"task {pid}",
        message="Do it?",
        operation=op,
        key=pid,
        proposer=proposer,
        created_at=at,
        kind=kind,
        language=language,
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "proactive_ls", *args], capture_output=True, text=True)


def _write(path: Path, now: float) -> None:
    log = FeedbackLog(path)
    rows = [
        ("a1", "failing_command", "accepted", 4.0),
        ("a2", "failing_command", "rejected", 10.0),
        ("a3", "failing_command", "ignored", 120.0),
        ("b1", "commit_draft", "accepted", 2.0),
        ("b2", "commit_draft", "filtered", 0.0),
    ]
    for pid, kind, outcome, after in rows:
        log.append_sync(FeedbackRecord.of(_proposal(pid, kind, now), outcome, now + after))  # type: ignore[arg-type]
    # a3 was accepted late, 300 s after it was recorded ignored.
    log.append_sync(FeedbackRecord.of(_proposal("a3", "failing_command", now), "accepted", now + 420, late_by_s=300))


def test_stats_by_kind_count_each_proposal_once_by_its_last_answer(tmp_path: Path) -> None:
    path, other = tmp_path / "feedback.jsonl", tmp_path / "other.jsonl"
    now = time.time() - 3600
    _write(path, now)
    FeedbackLog(other).append_sync(FeedbackRecord.of(_proposal("m1", "model_task", now, None, "vllm"), "ignored", now))
    proc = _cli("stats", "--feedback-log", str(path), "--feedback-log", str(other), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    groups = {g["name"]: g for g in out["groups"]}
    assert out["records"] == 7
    fc = groups["failing_command"]
    assert (fc["shown"], fc["accepted"], fc["rejected"], fc["ignored"], fc["late"]) == (3, 2, 1, 0, 1)
    assert fc["acceptance"] == round(2 / 3, 4) and fc["medianDecisionS"] == 10.0  # 4, 10, 420
    cd = groups["commit_draft"]
    assert (cd["shown"], cd["accepted"], cd["filtered"]) == (1, 1, 1)
    assert groups["model_task"]["ignore"] == 1.0
    by_week = json.loads(_cli("stats", "--feedback-log", str(path), "--by", "week", "--json").stdout)
    assert [g["name"] for g in by_week["groups"]] == [time.strftime("%G-W%V", time.gmtime(now + 10))]
    table = _cli("stats", "--feedback-log", str(path), "--by", "proposer")
    assert table.returncode == 0 and "local" in table.stdout
    missing = _cli("stats", "--feedback-log", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "no feedback log" in missing.stderr


def test_purge_before_a_date_and_all(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    old, new = time.time() - 40 * DAY, time.time() - 60
    log = FeedbackLog(path)
    log.append_sync(FeedbackRecord.of(_proposal("o", "conflict", old), "rejected", old))
    log.append_sync(FeedbackRecord.of(_proposal("n", "conflict", new), "accepted", new))
    with open(path, "ab") as f:
        f.write(b"{torn\n")  # undatable: kept
    cutoff = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * DAY))
    proc = _cli("feedback", "purge", "--before", cutoff, "--feedback-log", str(path))
    assert proc.returncode == 0 and "purged 1 records, kept 2" in proc.stdout
    assert [r["proposal_id"] for r in read_log_lines(path) if r] == ["n"]
    assert _cli("feedback", "purge", "--feedback-log", str(path)).returncode == 2
    bad = _cli("feedback", "purge", "--before", "yesterday-ish", "--feedback-log", str(path))
    assert bad.returncode == 2 and "--before" in bad.stderr and "Traceback" not in bad.stderr
    assert _cli("feedback", "purge", "--all", "--feedback-log", str(path)).returncode == 0
    assert path.read_bytes() == b""


def read_log_lines(path: Path) -> list[dict | None]:
    out: list[dict | None] = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            out.append(None)
    return out


def test_rotation_loses_nothing_and_readers_follow_it(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    now = time.time() - 3600
    _write(path, now)
    segment = rotate(path, max_bytes=1, now=now)
    assert segment is not None and not path.exists() and rotated(path) == [segment]
    log = FeedbackLog(path)
    log.append_sync(FeedbackRecord.of(_proposal("c1", "syntax_error", now), "accepted", now + 1))
    assert segments(path) == [segment, path]
    out = json.loads(_cli("stats", "--feedback-log", str(path), "--json").stdout)
    assert out["records"] == 7 and {g["name"] for g in out["groups"]} >= {"syntax_error", "failing_command"}
    export = _cli("export", "--format", "reward", "--feedback-log", str(path))
    assert export.returncode == 0, export.stderr
    assert len(export.stdout.splitlines()) == 5  # a1, a2, a3 (late accept), b1, c1

    # Appends from other writers while a purge rewrites the files: every one of them is kept.
    stop = threading.Event()
    appended: list[str] = []

    def writer(n: int) -> None:
        w = FeedbackLog(path)
        i = 0
        while not stop.is_set() or i < 20:
            pid = f"w{n}-{i}"
            w.append_sync(FeedbackRecord.of(_proposal(pid, "other", time.time()), "accepted", time.time()))
            appended.append(pid)
            i += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for _ in range(5):
        purge(path, now + 1000)  # removes the old records, again and again, while they append
    stop.set()
    for t in threads:
        t.join()
    kept = {r.get("proposal_id") for f in segments(path) for r in read_log_lines(f) if r}
    assert set(appended) <= kept
    assert not rotated(path)  # the all-old segment was removed whole


async def test_the_server_applies_retain_days(tmp_path: Path, calc_project: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    old = time.time() - 10 * DAY
    FeedbackLog(path).append_sync(FeedbackRecord.of(_proposal("old", "conflict", old), "rejected", old))
    FeedbackLog(path).append_sync(FeedbackRecord.of(_proposal("new", "conflict", time.time()), "accepted", time.time()))
    client = await start_session(calc_project, path, settings={"retainDays": 7})
    try:
        await eventually(lambda: [r["proposal_id"] for r in read_log(path)] == ["new"])
        assert (await client.execute(protocol.COMMAND_STATUS))["feedbackLog"] == str(path)
    finally:
        await client.shutdown_session()
