"""``proactive-ls learning show`` and ``learning reset``: what was learned from your answers, and forgetting it."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from proactive_ls.learning.decider import Learner
from proactive_ls.learning.store import LearningStore


def _store(feedback_log: Path | None) -> LearningStore:
    from proactive_ls.config import default_feedback_log

    return LearningStore(Path(feedback_log).expanduser() if feedback_log is not None else default_feedback_log())


def main_show(feedback_log: Path | None, json_out: bool) -> int:
    status = Learner(_store(feedback_log)).status()
    if json_out:
        print(json.dumps(status, indent=1))
        return 0
    table = Table(title=f"Learned from {status['answers']} answers ({status['state']})")
    for col in ("kind", "accepted", "rejected", "ignored", "kept back since last shown", "acceptance"):
        table.add_column(col)
    for kind, k in status["kinds"].items():
        table.add_row(
            kind,
            str(k["accepted"]),
            str(k["rejected"]),
            str(k["ignored"]),
            str(k["suppressedSinceShown"]),
            f"{k['acceptance']:.2f}",
        )
    Console().print(table)
    return 0


def main_reset(feedback_log: Path | None) -> int:
    store = _store(feedback_log)
    store.reset()
    Console().print(f"Forgot what was learned from {store.log_path}; every server starts again from its next answer.")
    return 0
