"""`proactive-ls demo`: the main job on the embedded proposer, from an installed package.

Three recorded coding sessions ship inside the package (``proactive_ls/examples``): a failing test,
errors after a save, and quiet editing where proactive-ls must stay silent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path

from proactive_ls.replay.cli import main_replay

DEMO_SESSIONS = ("failing-test", "errors-after-save", "quiet-editing")


@contextmanager
def example_sessions() -> Iterator[list[Path]]:
    """The packaged example sessions, as files on disk for as long as the context lasts."""
    with as_file(files("proactive_ls").joinpath("examples")) as folder:
        paths = [Path(folder) / name / "session.jsonl" for name in DEMO_SESSIONS]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"the example sessions are missing from this install: {', '.join(missing)}")
        yield paths


def main_demo(more: list[Path], lsp: bool, json_out: bool) -> int:
    with example_sessions() as paths:
        return main_replay([*paths, *more], lsp=lsp, speed=0.0, json_out=json_out, settings_file=None, judge=None)
