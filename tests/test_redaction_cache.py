"""What the redactor keeps between events: an event's files are judged once per STAMP_TTL_S (on
the redactor's clock, here a hand-moved one), and a link moved out of the workspace is seen after it."""

from __future__ import annotations

from pathlib import Path

from proactive_ls.events import DocumentEdited
from proactive_ls.sensing.paths import path_to_uri
from proactive_ls.sensing.redaction import Redactor
from proactive_ls.sensing.redaction.gitignore import STAMP_TTL_S


def test_an_events_files_are_judged_again_once_the_ttl_has_passed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    inside = root / "app.py"
    inside.write_text("x = 1\n")
    outside = tmp_path / "elsewhere.py"
    outside.write_text("TOKEN = 'x'\n")
    link = root / "link.py"
    link.symlink_to(inside)
    now = [0.0]
    redactor = Redactor(roots=[root], respect_gitignore=False, clock=lambda: now[0])
    edit = DocumentEdited(time=1, uri=path_to_uri(link), path="link.py", definitions=["function `main`"])
    assert redactor.redact_event(edit) == edit  # inside: the definitions are kept
    link.unlink()
    link.symlink_to(outside)  # the same file name now leads outside the workspace
    assert redactor.redact_event(edit) == edit  # within the TTL: the answer judged a moment ago
    now[0] += STAMP_TTL_S
    kept = redactor.redact_event(edit)
    assert kept is not None and kept.definitions == []  # judged again: outside, so no content
    assert redactor.is_excluded(link)  # the direct question is never cached across a move
