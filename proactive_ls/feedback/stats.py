"""What it learned: acceptance, rejection and ignore rates over one or more feedback logs.

A proposal counts once, by its last record (an answer that came late replaces its ``ignored``);
``filtered`` records are the proposals the judge kept from the user. Grouped by kind, proposer,
judge, language or ISO week of the decision. ``proactive-ls stats`` prints it (or ``--json``).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from proactive_ls.control.kinds import kind_of_record
from proactive_ls.feedback.export import ExportStats, read_all
from proactive_ls.feedback.lifecycle import segments
from proactive_ls.feedback.log import FeedbackRecord

GROUPINGS = ("kind", "proposer", "judge", "language", "week")


def group_of(record: FeedbackRecord, by: str) -> str:
    if by == "kind":
        return kind_of_record(record.kind, record.task, record.operation, record.proposer).value
    if by == "proposer":
        return record.proposer or "?"
    if by == "judge":
        return record.judge or "none"
    if by == "language":
        return record.language or "none"
    if by == "week":
        year, week, _ = _iso_week(record.decided_at)
        return f"{year}-W{week:02d}"
    raise ValueError(f"unknown grouping {by!r}: expected one of {', '.join(GROUPINGS)}")


def _iso_week(at: float) -> tuple[int, int, int]:
    import datetime

    return datetime.datetime.fromtimestamp(at, datetime.UTC).isocalendar()


@dataclass
class Group:
    name: str
    shown: int = 0
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    snoozed: int = 0
    filtered: int = 0
    late: int = 0
    decision_s: list[float] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        shown = self.shown or 1
        d = asdict(self)
        times = d.pop("decision_s")
        return {
            **d,
            "acceptance": round(self.accepted / shown, 4) if self.shown else None,
            "rejection": round(self.rejected / shown, 4) if self.shown else None,
            "ignore": round(self.ignored / shown, 4) if self.shown else None,
            "medianDecisionS": round(statistics.median(times), 2) if times else None,
        }


def final_outcomes(records: Iterable[FeedbackRecord]) -> tuple[list[FeedbackRecord], list[FeedbackRecord]]:
    """(the last record of each proposal shown, the filtered records): what stats and report count."""
    last: dict[str, FeedbackRecord] = {}
    filtered: list[FeedbackRecord] = []
    for r in records:
        if r.outcome == "filtered":
            filtered.append(r)
        else:
            last[r.proposal_id] = r  # the log is in order: a late answer comes after its "ignored"
    return list(last.values()), filtered


def compute(records: list[FeedbackRecord] | Any, by: str) -> list[Group]:
    answered, filtered = final_outcomes(records)
    groups: dict[str, Group] = defaultdict(lambda: Group(""))
    for r in answered:
        g = groups[group_of(r, by)]
        g.shown += 1
        setattr(g, r.outcome, getattr(g, r.outcome) + 1)
        if r.late_by_s is not None:
            g.late += 1
        if r.outcome in ("accepted", "rejected"):
            g.decision_s.append(max(0.0, r.decided_at - r.proposed_at))
    for r in filtered:
        groups[group_of(r, by)].filtered += 1
    for name, g in groups.items():
        g.name = name
    return sorted(groups.values(), key=lambda g: (-g.shown, g.name))


def main_stats(logs: list[Path], by: str, json_out: bool) -> int:
    files = [f for log in logs for f in segments(log)]
    missing = [str(log) for log in logs if not segments(log)]
    if missing:
        print(f"proactive-ls stats: no feedback log at {', '.join(missing)}", file=sys.stderr)
        return 2
    if by not in GROUPINGS:
        print(f"proactive-ls stats: --by must be one of {', '.join(GROUPINGS)}", file=sys.stderr)
        return 2
    read = ExportStats()
    groups = compute(read_all(files, read), by)
    rows = [g.row() for g in groups]
    if json_out:
        print(json.dumps({"by": by, "records": read.records, "unreadable": read.unreadable, "groups": rows}))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"proactive-ls: {read.records} records, by {by}")
    for col in (by, "shown", "accepted", "rejected", "ignored", "snoozed", "filtered", "late", "median s"):
        table.add_column(col, justify="left" if col == by else "right")

    def pct(n: int, row: dict[str, Any]) -> str:
        return f"{n} ({n / row['shown']:.0%})" if row["shown"] else str(n)

    for row in rows:
        median = row["medianDecisionS"]
        table.add_row(
            row["name"],
            str(row["shown"]),
            pct(row["accepted"], row),
            pct(row["rejected"], row),
            pct(row["ignored"], row),
            str(row["snoozed"]),
            str(row["filtered"]),
            str(row["late"]),
            "-" if median is None else f"{median:g}",
        )
    Console().print(table)
    return 0


__all__ = ["GROUPINGS", "Group", "compute", "group_of", "main_stats"]
