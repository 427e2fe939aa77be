"""An honest evaluation of the gate on ProactiveBench's human judgements.

The published reward-model split leaks (every test row is also a training row, and all rows are
sliding windows over 16 traces), so the headline numbers here are leave-one-trace-out: each of
the 16 traces is scored by a gate trained on the other 15. The leaked split is reported too,
labelled as such, to compare with the paper's 0.918. Positive class: ``valid`` (the judge
accepts the proposal, or the silence).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from proactive_ls.judges.gate import threshold_for, words
from proactive_ls.judges.gate_train import _fit_logistic, group_traces, load_reward_rows, train_gate

TRAIN_FILE = Path("reward_data/train_data.jsonl")
TEST_FILE = Path("reward_data/test_data.jsonl")
REPO_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "proactivebench"
ENV_VAR = "PROACTIVEBENCH_DATA"
LOGREG_L2 = 1.0


class DataMissing(RuntimeError):
    """The ProactiveBench data is not where it was looked for."""


def metrics(labels: Sequence[bool], predictions: Sequence[bool]) -> dict[str, float | int]:
    """accuracy, precision, recall, f1, false_alarm = FP/(TP+FP), n; 0.0 where undefined."""
    tp = sum(1 for y, p in zip(labels, predictions, strict=False) if y and p)
    fp = sum(1 for y, p in zip(labels, predictions, strict=False) if not y and p)
    fn = sum(1 for y, p in zip(labels, predictions, strict=False) if y and not p)
    n = len(labels)
    tn = n - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": round((tp + tn) / n, 4) if n else 0.0,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "false_alarm": round(fp / (tp + fp), 4) if tp + fp else 0.0,
        "n": n,
    }


# --------------------------------------------------------------------------------------------
# The bag-of-words baseline: words of the whole history and of the task, and a silence flag.


def _bow(row: dict[str, Any]) -> set[str]:
    feats = {"null"} if row.get("pred_task") is None else {"t:" + w for w in words(row["pred_task"])}
    for o in row.get("obs", []):
        feats.update("h:" + w for w in words(str(o.get("event", o.get("Event", "")))))
    return feats


def _logreg_predict(train: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]]) -> list[bool]:
    train_feats = [_bow(r) for r in train]
    names = sorted(set().union(*train_feats))
    index = {k: i for i, k in enumerate(names)}
    X = [[(index[k], 1.0) for k in sorted(fv)] for fv in train_feats]
    y = [1.0 if r["valid"] else 0.0 for r in train]
    beta = _fit_logistic(X, y, [1.0] * len(train), [LOGREG_L2] * len(names) + [0.0], max_iter=150, tol=1e-6)
    out = []
    for r in test:
        z = beta[-1] + sum(beta[index[k]] for k in _bow(r) if k in index)
        out.append(z >= 0.0)  # probability >= 0.5
    return out


# --------------------------------------------------------------------------------------------


def _loto(
    rows: list[dict[str, Any]],
    traces: list[int],
    predict: Callable[[list[dict[str, Any]], list[dict[str, Any]]], list[bool]],
) -> list[bool]:
    predictions: list[bool] = [False] * len(rows)
    for t in sorted(set(traces)):
        test_idx = [i for i, x in enumerate(traces) if x == t]
        train = [r for r, x in zip(rows, traces, strict=False) if x != t]
        for i, p in zip(test_idx, predict(train, [rows[i] for i in test_idx]), strict=False):
            predictions[i] = p
    return predictions


def _gate_predict(train: list[dict[str, Any]], test: list[dict[str, Any]]) -> list[bool]:
    gate = train_gate(train)
    bar = threshold_for("normal", None)
    return [gate.score(r["obs"], r.get("pred_task")) >= bar for r in test]


def _data_files(data: Path) -> tuple[Path, Path]:
    train, test = Path(data) / TRAIN_FILE, Path(data) / TEST_FILE
    for f in (train, test):
        if not f.is_file():
            raise DataMissing(f"ProactiveBench data not found: {f} does not exist")
    return train, test


def evaluate(data: Path) -> dict[str, Any]:
    """Leave-one-trace-out metrics of the gate and three baselines, and the gate on the leaked split.

    Returns ``{"loto": {"gate", "always_accept", "accept_silences", "logreg"}, "leaked_split":
    {"gate"}}``, each a :func:`metrics` dict. Takes about a minute in pure Python.
    """
    train_file, test_file = _data_files(data)
    rows = load_reward_rows(train_file)
    test_rows = load_reward_rows(test_file)
    traces = group_traces(rows)
    labels = [bool(r["valid"]) for r in rows]
    loto = {
        "gate": metrics(labels, _loto(rows, traces, _gate_predict)),
        "always_accept": metrics(labels, [True] * len(rows)),
        "accept_silences": metrics(labels, [r.get("pred_task") is None for r in rows]),
        "logreg": metrics(labels, _loto(rows, traces, _logreg_predict)),
    }
    leaked = metrics([bool(r["valid"]) for r in test_rows], _gate_predict(rows, test_rows))
    return {"loto": loto, "leaked_split": {"gate": leaked}}


def default_data_dir() -> Path | None:
    """../shared/proactivebench beside the repository, then $PROACTIVEBENCH_DATA."""
    if (REPO_DATA / TRAIN_FILE).is_file():
        return REPO_DATA
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return None


def _table(result: dict[str, Any]) -> Table:
    table = Table(
        title="The gate on ProactiveBench human judgements",
        caption="positive = the judge accepts; FA = false alarm = FP / (TP + FP)",
    )
    for col in ("split", "model", "acc", "prec", "rec", "F1", "FA", "n"):
        table.add_column(col, justify="left" if col in ("split", "model") else "right", no_wrap=True)
    labels = {
        "gate": f"gate @ {threshold_for('normal', None):.2f}",
        "always_accept": "always accept",
        "accept_silences": "silence only",
        "logreg": "BoW logreg",
    }
    groups = [("LOTO (16)", result["loto"]), ("LEAKED", result["leaked_split"])]
    for title, models in groups:
        for i, (name, m) in enumerate(models.items()):
            table.add_row(
                title if i == 0 else "",
                labels.get(name, name),
                *(f"{m[k]:.3f}" for k in ("accuracy", "precision", "recall", "f1", "false_alarm")),
                str(m["n"]),
            )
    return table


def main_bench_gate(data: Path | None, json_out: bool) -> int:
    """``proactive-ls bench gate``: print the table (or the JSON); 2 when the data is missing."""
    err = Console(stderr=True)
    where = Path(data).expanduser() if data is not None else default_data_dir()
    if where is None:
        err.print(
            f"[red]ProactiveBench data not found[/red]: looked in {REPO_DATA} and ${ENV_VAR} is not set. "
            "Pass the data directory (the one holding reward_data/)."
        )
        return 2
    try:
        _data_files(where)
        if json_out:
            result = evaluate(where)
        else:
            with err.status("Training and scoring 16 leave-one-trace-out folds ..."):
                result = evaluate(where)
    except DataMissing as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    except (OSError, ValueError) as exc:
        err.print(f"[red]Could not read the ProactiveBench data in {where}: {exc}[/red]")
        return 2
    if json_out:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        out = Console()
        out.print(_table(result))
        out.print(
            "Leave-one-trace-out is the honest number; the published split is leaked (its 120 test "
            "rows are all in the training file)."
        )
    return 0
