"""``proactive-ls train-gate``: retrain the gate on the user's own log, and install it only if it is not worse.

The last part of the log, in time order (the newest 20%, at least 10 records), is held out: a
candidate is trained on everything before it (and on ProactiveBench's rows with ``--data``), and
both the candidate and the model in use score the held-out records. The new model is installed
only when its held-out log-loss is not higher and its AUC not lower than the model in use's,
and then it is refitted on all the records. Held-out figures, when it was trained and on how
many records go into the model's ``meta``, which ``proactive.status`` shows. The file is written
atomically (a temporary file in the same folder, fsynced, renamed over the old one), so a
server that reloads it never reads half a model.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from proactive_ls.judges.gate import Gate, threshold_for
from proactive_ls.judges.gate_train import (
    DATA_LICENSE,
    DATA_SOURCE,
    DEFAULT_HYPER,
    feedback_rows,
    load_reward_rows,
    row_features,
    train_gate,
)

#: Fewer usable records than this (accepted + rejected, + ignored with --include-ignored) and
#: train-gate refuses unless --force: a held-out part of a smaller log says nothing.
MIN_RECORDS = 50
HOLDOUT_SHARE = 0.2
MIN_HOLDOUT = 10
AUC_TOLERANCE = 0.005


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve (ties count half); None with only one class."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(1 for _, y in pairs if y)
    negatives = len(pairs) - positives
    if not positives or not negatives:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + j + 1) / 2  # 1-based ranks i+1..j
        rank_sum += mean_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def figures(
    gate: Gate, feats: Sequence[dict[str, float]], rows: Sequence[dict[str, Any]], threshold: float
) -> dict[str, Any]:
    """How well ``gate`` predicts these rows: weighted log-loss, AUC, accuracy and F1 at the bar."""
    scores = [_sigmoid(gate.logit(f)) for f in feats]
    labels = [bool(r["valid"]) for r in rows]
    weights = [float(r.get("weight", 1.0)) for r in rows]
    eps = 1e-6
    loss = sum(
        -w * math.log(max(eps, s if y else 1.0 - s)) for s, y, w in zip(scores, labels, weights, strict=True)
    ) / max(eps, sum(weights))
    shown = [s >= threshold for s in scores]
    tp = sum(1 for p, y in zip(shown, labels, strict=True) if p and y)
    fp = sum(1 for p, y in zip(shown, labels, strict=True) if p and not y)
    fn = sum(1 for p, y in zip(shown, labels, strict=True) if not p and y)
    tn = len(rows) - tp - fp - fn
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    a = auc(labels, scores)
    return {
        "n": len(rows),
        "logLoss": round(loss, 4),
        "auc": round(a, 4) if a is not None else None,
        "accuracy": round((tp + tn) / len(rows), 4) if rows else None,
        "f1": round(f1, 4),
        "threshold": threshold,
    }


def not_worse(candidate: dict[str, Any], in_use: dict[str, Any]) -> tuple[bool, str]:
    """The install rule, with its reason in words."""
    c_loss, u_loss = candidate["logLoss"], in_use["logLoss"]
    c_auc, u_auc = candidate["auc"], in_use["auc"]
    if c_loss > u_loss:
        return False, f"its held-out log-loss {c_loss:.4f} is higher than the model in use's {u_loss:.4f}"
    if c_auc is not None and u_auc is not None and c_auc < u_auc - AUC_TOLERANCE:
        return False, f"its held-out AUC {c_auc:.4f} is lower than the model in use's {u_auc:.4f}"
    auc_words = f", AUC {c_auc:.4f} vs {u_auc:.4f}" if c_auc is not None and u_auc is not None else ""
    return True, f"held-out log-loss {c_loss:.4f} vs {u_loss:.4f} for the model in use{auc_words}"


def split_point(rows: Sequence[dict[str, Any]]) -> int:
    """Index of the first held-out row (rows in time order), or len(rows) when too few to hold out."""
    n = len(rows)
    hold = max(MIN_HOLDOUT, round(n * HOLDOUT_SHARE))
    if n - hold < MIN_HOLDOUT:
        return n
    head, tail = rows[: n - hold], rows[n - hold :]
    if len({bool(r["valid"]) for r in head}) < 2 or len({bool(r["valid"]) for r in tail}) < 2:
        return n
    return n - hold


def write_atomically(gate: Gate, target: Path) -> None:
    """Write the model so that a reader sees the old file or the new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(gate.dumps())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def model_in_use(target: Path) -> tuple[Gate, str]:
    """The model the servers use for ``target`` now: that file when it is valid, else the packaged one."""
    if target.is_file():
        try:
            return Gate.load(target), str(target)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return Gate.load(), "packaged"


@dataclass
class Outcome:
    """What train-gate did, for the table and for ``--json``."""

    installed: bool = False
    reason: str = ""
    target: str | None = None
    log: str | None = None
    outcomes: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    bench_rows: int = 0
    held_out: dict[str, Any] | None = None
    version: str | None = None
    seconds: float = 0.0
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "installed": self.installed,
            "reason": self.reason,
            "path": self.target,
            "feedbackLog": self.log,
            "outcomes": self.outcomes,
            "rows": self.rows,
            "proactivebenchRows": self.bench_rows,
            "heldOut": self.held_out,
            "version": self.version,
            "seconds": round(self.seconds, 2),
        }


def retrain(
    feedback_log: Path | None,
    data: Path | None,
    out: Path | None,
    include_ignored: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    eagerness: str = "normal",
) -> Outcome:
    """Read, split, compare, install: everything train-gate does but printing."""
    from proactive_ls.config import default_feedback_log
    from proactive_ls.judges.gate.source import user_model_path

    started = time.perf_counter()
    result = Outcome()
    log_path = Path(feedback_log).expanduser() if feedback_log is not None else default_feedback_log()
    target = Path(out).expanduser() if out is not None else user_model_path()
    result.target = str(target)

    def step(description: str, total: float | None = None) -> Any:
        return progress.add_task(description, total=total) if progress is not None else None

    def advance(task: Any, by: float = 1.0, **kw: Any) -> None:
        if progress is not None and task is not None:
            progress.update(task, advance=by, **kw)

    def refuse(reason: str, code: int = 2) -> Outcome:
        result.reason, result.exit_code = reason, code
        result.seconds = time.perf_counter() - started
        return result

    rows: list[dict[str, Any]] = []
    if log_path.is_file():
        reading = step("reading the feedback log")
        rows, result.outcomes = feedback_rows(log_path, include_ignored)
        advance(reading, total=1, completed=1)
        result.log = str(log_path)
    elif feedback_log is not None or data is None:
        return refuse(f"no feedback log at {log_path}")
    bench_rows: list[dict[str, Any]] = []
    if data is not None:
        bench_file = Path(data).expanduser() / "reward_data" / "train_data.jsonl"
        if not bench_file.is_file():
            return refuse(f"ProactiveBench data not found: {bench_file} does not exist")
        try:
            bench_rows = load_reward_rows(bench_file)
        except (OSError, ValueError) as exc:
            return refuse(f"could not read {bench_file}: {exc}")
    result.rows, result.bench_rows = len(rows), len(bench_rows)
    usable = ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())) or "none"
    if {bool(r["valid"]) for r in rows + bench_rows} != {True, False}:
        return refuse(
            f"nothing to learn from: {len(rows)} usable feedback records ({usable}) and {len(bench_rows)} "
            "ProactiveBench rows; the gate needs both accepted and rejected examples"
        )
    if len(rows) < MIN_RECORDS and not force:
        return refuse(
            f"only {len(rows)} usable feedback records ({usable}); train-gate needs at least {MIN_RECORDS} "
            "to compare a new model with the one in use on your later answers (--force trains anyway)"
        )

    computing = step("features", total=len(rows) + len(bench_rows))
    feats: list[dict[str, float]] = []
    for row in rows + bench_rows:
        feats.append(row_features(row))
        advance(computing)
    log_feats, bench_feats = feats[: len(rows)], feats[len(rows) :]

    threshold = threshold_for(eagerness, None)
    cut = split_point(rows)
    in_use, in_use_name = model_in_use(target)
    max_iter = int(DEFAULT_HYPER["max_iter"])
    candidate: Gate | None = None
    if cut < len(rows):
        fitting = step(f"fitting on the first {cut} records", total=max_iter)
        candidate = train_gate(
            rows[:cut] + bench_rows,
            feats=log_feats[:cut] + bench_feats,
            on_iter=lambda i: advance(fitting, total=max_iter, completed=i + 1, by=0),
        )
        advance(fitting, by=0, total=1, completed=1)
        held = rows[cut:]
        held_feats = log_feats[cut:]
        cand_fig = figures(candidate, held_feats, held, threshold)
        use_fig = figures(in_use, held_feats, held, threshold)
        ok, why = not_worse(cand_fig, use_fig)
        result.held_out = {
            "on": f"the last {len(held)} of {len(rows)} records of the feedback log, in time order",
            "candidate": cand_fig,
            "inUse": {**use_fig, "model": in_use_name, "version": in_use.version},
        }
        if not ok and not force:
            return refuse(f"not installed: {why} (the model in use stays; --force installs anyway)", code=3)
        result.reason = ("installed: " if ok else "installed with --force although ") + why
    else:
        result.reason = (
            f"installed with --force without a comparison: {len(rows)} records are too few for a held-out part"
        )

    fitting_all = step(f"fitting on all {len(rows) + len(bench_rows)} rows", total=max_iter)
    gate = train_gate(
        rows + bench_rows,
        feats=feats,
        on_iter=lambda i: advance(fitting_all, total=max_iter, completed=i + 1, by=0),
        start=candidate,
    )
    advance(fitting_all, by=0, total=1, completed=1)
    gate.meta["trained_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    gate.meta["held_out"] = result.held_out["candidate"] | {"on": result.held_out["on"]} if result.held_out else None
    gate.meta["sources"] = {
        "feedback_log": str(log_path) if rows else None,
        "feedback_outcomes": result.outcomes,
        "include_ignored": include_ignored,
        "proactivebench_rows": len(bench_rows),
    }
    if bench_rows:
        gate.meta["data_license"] = DATA_LICENSE
        gate.meta["data_source"] = DATA_SOURCE
    write_atomically(gate, target)
    result.installed, result.version = True, gate.version
    result.seconds = time.perf_counter() - started
    return result


def _table(result: Outcome) -> Table:
    table = Table(title="Gate retrained" if result.installed else "Gate not retrained", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("feedback records", ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items())) or "none")
    table.add_row("rows from the log", str(result.rows))
    table.add_row("ProactiveBench rows", str(result.bench_rows))
    held = result.held_out
    if held:
        for name, fig in (("new model", held["candidate"]), ("model in use", held["inUse"])):
            table.add_row(
                f"held out: {name}",
                f"log-loss {fig['logLoss']}, AUC {fig['auc']}, accuracy {fig['accuracy']}, "
                f"F1 {fig['f1']} (n={fig['n']})",
            )
    table.add_row("decision", result.reason)
    if result.installed:
        table.add_row("version", str(result.version))
        table.add_row("written to", str(result.target))
    table.add_row("seconds", f"{result.seconds:.1f}")
    return table


def main_train_gate(
    feedback_log: Path | None,
    data: Path | None,
    out: Path | None,
    include_ignored: bool = False,
    force: bool = False,
    json_out: bool = False,
) -> int:
    """``proactive-ls train-gate``. Returns 0 when installed, 2 for bad input or too few records,
    3 when the new model was worse than the one in use on the held-out records."""
    console, err = Console(), Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        result = retrain(feedback_log, data, out, include_ignored, force, progress)
    if json_out:
        print(json.dumps(result.to_json(), indent=1))
    elif result.exit_code == 0:
        console.print(_table(result))
    else:
        if result.held_out:
            err.print(_table(result))
        err.print(f"[red]train-gate[/red]: {result.reason}")
    return result.exit_code
