"""Documentation generated from code stays in step with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_events_doc_is_up_to_date(tmp_path: Path) -> None:
    before = (REPO / "docs" / "events.md").read_text()
    subprocess.run([sys.executable, str(REPO / "scripts" / "make-events-doc.py")], check=True)
    after = (REPO / "docs" / "events.md").read_text()
    assert after == before, "docs/events.md is stale: run scripts/make-events-doc.py and commit it"


def test_protocol_doc_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make-protocol-doc.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
