"""`proactive-ls report`: one self-contained page, rendered in real headless Chromium (Debian's)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord
from tests.test_stats_and_lifecycle import _proposal

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sample_log(path: Path) -> None:
    """Three weeks of answers over four kinds, some filtered, one late."""
    log = FeedbackLog(path)
    start = time.time() - 21 * 86400
    outcomes = ["accepted", "rejected", "ignored", "accepted", "snoozed", "filtered", "accepted"]
    kinds = ["failing_command", "errors_after_save", "commit_draft", "syntax_error"]
    for i in range(60):
        at = start + i * 8 * 3600
        kind, outcome = kinds[i % 4], outcomes[i % 7]
        p = _proposal(f"p{i}", kind, at)
        log.append_sync(FeedbackRecord.of(p, outcome, at + 3 + (i % 9) * 20))  # type: ignore[arg-type]
    late = _proposal("p2", "commit_draft", start + 16 * 3600)
    log.append_sync(FeedbackRecord.of(late, "accepted", start + 17 * 3600, late_by_s=3000))


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (scripts/chromium-env.sh installs it on CI)")
    return found


def test_the_report_is_self_contained_and_its_charts_draw(tmp_path: Path) -> None:
    log, page = tmp_path / "feedback.jsonl", tmp_path / "report.html"
    sample_log(log)
    proc = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "report", "--out", str(page), "--feedback-log", str(log)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing to fetch at view time
    bars = text.count('class="bar"')
    assert {m for m in re.findall(r'data-chart="(\w+)"', text)} == {"outcomes", "decision", "filtered"}
    assert bars > 20

    chromium = _chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    drawn = re.search(r'data-drawn="(\d+)"', dom.stdout)
    assert drawn is not None, "the page's script did not run"
    assert int(drawn.group(1)) == bars  # every bar was laid out with a size by the browser
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}-2", f"--screenshot={shot}", "--window-size=760,1100"]
        + [page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
