"""Training the gate, in pure Python, deterministically.

The packaged model is trained on the human judgements of ProactiveBench
(``reward_data/train_data.jsonl`` of thunlp/ProactiveAgent, ICLR 2025, Apache License 2.0):
each row is a history, a proposed task or ``null`` (silence), and ``valid`` — whether people
judged the proposal (or the silence) right. Users can retrain it on their own feedback log
(``proactive-ls train-gate``), with or without that data.

The model is an L2-regularised logistic regression fitted with L-BFGS over the sparse named
features of :func:`proactive_ls.judges.gate.features`. No numpy: the data is small (1,629 rows)
and the product must not depend on a numeric stack to learn from its own log.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from proactive_ls.judges.gate import FEATURES_VERSION, Gate, features

DATA_LICENSE = "Apache-2.0"
DATA_SOURCE = "ProactiveBench reward_data/train_data.jsonl (thunlp/ProactiveAgent, ICLR 2025), Apache License 2.0"

DEFAULT_HYPER: dict[str, Any] = {
    "l2": 3.0,  # L2 penalty on the summed (not averaged) log-loss; bias terms are not penalised
    "word_l2": 10.0,  # task words are many and trace-specific: penalise them harder
    "min_word_traces": 4,  # a task word is a feature only if it occurs in tasks of this many traces
    "max_iter": 200,
    "tol": 1e-6,
}
WEAK_NEGATIVE_WEIGHT = 0.3


def load_reward_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a ProactiveBench reward file (JSON Lines: obs, pred_task, valid, ...)."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if not isinstance(row, dict) or "obs" not in row or "valid" not in row:
                raise ValueError(f"{path}:{number}: not a reward row (needs 'obs' and 'valid')")
            rows.append(row)
    return rows


def _obs_key(o: dict[str, Any]) -> tuple[str, str]:
    return (str(o.get("time", o.get("Time", ""))), str(o.get("event", o.get("Event", ""))))


def group_traces(rows: Sequence[dict[str, Any]]) -> list[int]:
    """Trace id per row: rows that share an observation ``(time, event)`` belong to one trace.

    ProactiveBench rows are sliding windows over a few long traces; union-find over shared
    observations recovers them (16 in the reward data). Ids are numbered by first appearance.
    """
    parent = list(range(len(rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        for o in row.get("obs", []):
            key = _obs_key(o)
            j = first.setdefault(key, i)
            if j != i:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    ids: dict[int, int] = {}
    return [ids.setdefault(find(i), len(ids)) for i in range(len(rows))]


def row_features(row: dict[str, Any]) -> dict[str, float]:
    return features(row.get("obs", []), row.get("pred_task"), recent_rejections=int(row.get("recent_rejections", 0)))


# --------------------------------------------------------------------------------------------
# Logistic regression with L-BFGS.


def _fit_logistic(
    X: list[list[tuple[int, float]]],
    y: list[float],
    sample_w: list[float],
    penalty: list[float],
    max_iter: int,
    tol: float,
    on_iter: Callable[[int], None] | None = None,
    beta0: list[float] | None = None,
) -> list[float]:
    """Minimise sum_i w_i * logloss_i + 0.5 * sum_j penalty_j * beta_j^2; returns beta (last = bias).

    ``on_iter`` is called after each iteration with its number (for a progress bar); ``beta0`` is
    where to start (a warm start: the previous solution of a similar problem).
    """
    d = len(penalty)

    def value_grad(beta: list[float]) -> tuple[float, list[float]]:
        g = [p * b for p, b in zip(penalty, beta, strict=False)]
        loss = 0.5 * sum(p * b * b for p, b in zip(penalty, beta, strict=False))
        bias = beta[-1]
        for xi, yi, wi in zip(X, y, sample_w, strict=False):
            z = bias
            for j, v in xi:
                z += beta[j] * v
            # log(1 + e^z) - y z, computed stably
            if z > 0:
                ez = math.exp(-z)
                loss += wi * (z + math.log1p(ez) - yi * z)
                p = 1.0 / (1.0 + ez)
            else:
                ez = math.exp(z)
                loss += wi * (math.log1p(ez) - yi * z)
                p = ez / (1.0 + ez)
            r = wi * (p - yi)
            if r:
                for j, v in xi:
                    g[j] += r * v
                g[-1] += r
        return loss, g

    beta = list(beta0) if beta0 is not None and len(beta0) == d else [0.0] * d
    f, g = value_grad(beta)
    s_hist: list[list[float]] = []
    y_hist: list[list[float]] = []
    rho_hist: list[float] = []
    memory = 10
    for iteration in range(max_iter):
        if on_iter is not None:
            on_iter(iteration)
        # Two-loop recursion for the search direction.
        q = list(g)
        alphas = []
        for s, yv, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rho_hist), strict=False):
            a = rho * sum(si * qi for si, qi in zip(s, q, strict=False))
            alphas.append(a)
            q = [qi - a * yi for qi, yi in zip(q, yv, strict=False)]
        if s_hist:
            gamma = sum(a * b for a, b in zip(s_hist[-1], y_hist[-1], strict=False)) / max(
                1e-12, sum(b * b for b in y_hist[-1])
            )
        else:
            gamma = 1.0 / max(1.0, math.sqrt(sum(gi * gi for gi in g)))
        r = [gamma * qi for qi in q]
        for (s, yv, rho), a in zip(zip(s_hist, y_hist, rho_hist, strict=False), reversed(alphas), strict=False):
            b = rho * sum(yi * ri for yi, ri in zip(yv, r, strict=False))
            r = [ri + si * (a - b) for ri, si in zip(r, s, strict=False)]
        direction = [-ri for ri in r]
        slope = sum(gi * di for gi, di in zip(g, direction, strict=False))
        if slope >= 0:  # not a descent direction: restart from the gradient
            s_hist.clear()
            y_hist.clear()
            rho_hist.clear()
            direction = [-gi for gi in g]
            slope = -sum(gi * gi for gi in g)
        step = 1.0
        while True:  # backtracking line search (Armijo)
            cand = [b + step * di for b, di in zip(beta, direction, strict=False)]
            f_new, g_new = value_grad(cand)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s = [c - b for c, b in zip(cand, beta, strict=False)]
        yv = [a - b for a, b in zip(g_new, g, strict=False)]
        sy = sum(a * b for a, b in zip(s, yv, strict=False))
        if sy > 1e-12:
            s_hist.append(s)
            y_hist.append(yv)
            rho_hist.append(1.0 / sy)
            if len(s_hist) > memory:
                s_hist.pop(0)
                y_hist.pop(0)
                rho_hist.pop(0)
        converged = abs(f - f_new) <= tol * max(1.0, abs(f))
        beta, f, g = cand, f_new, g_new
        if converged:
            break
    return beta


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def train_gate(
    rows: list[dict[str, Any]],
    seed: int = 0,
    feats: Sequence[dict[str, float]] | None = None,
    on_iter: Callable[[int], None] | None = None,
    start: Gate | None = None,
    **hyper: Any,
) -> Gate:
    """Fit a gate on reward rows (``obs``, ``pred_task``, ``valid``; optional ``weight``, ``trace``).

    Deterministic: the same rows, seed and hyper-parameters give the same JSON, byte for byte.
    The seed only fixes the order rows are visited in (L-BFGS itself has no randomness).
    ``feats`` are the rows' features when the caller has them already (``row_features`` of each,
    in the same order): computing them is most of the cost, and retraining fits twice. ``start``
    is a gate to start from (its weights, by name): the refit on all rows starts from the fit on
    the earlier part, and needs fewer iterations.
    """
    unknown = set(hyper) - set(DEFAULT_HYPER)
    if unknown:
        raise TypeError(f"unknown hyper-parameters: {', '.join(sorted(unknown))}")
    if not rows:
        raise ValueError("no rows to train on")
    hp = {**DEFAULT_HYPER, **hyper}
    if feats is not None and len(feats) != len(rows):
        raise ValueError(f"{len(feats)} feature vectors for {len(rows)} rows")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    rows = [rows[i] for i in order]
    traces = [r["trace"] for r in rows] if all("trace" in r for r in rows) else group_traces(rows)
    feats = [feats[i] for i in order] if feats is not None else [row_features(r) for r in rows]

    # Task words count only if they recur across traces, so the model cannot learn one trace's topic.
    word_traces: dict[str, set[int]] = defaultdict(set)
    for fv, t in zip(feats, traces, strict=False):
        for k in fv:
            if k.startswith("w|"):
                word_traces[k].add(t)
    keep_word = {k for k, ts in word_traces.items() if len(ts) >= hp["min_word_traces"]}
    names = sorted({k for fv in feats for k in fv if not k.startswith("w|") or k in keep_word})
    index = {k: i for i, k in enumerate(names)}
    X = [[(index[k], v) for k, v in sorted(fv.items()) if k in index] for fv in feats]
    y = [1.0 if r["valid"] else 0.0 for r in rows]
    sample_w = [float(r.get("weight", 1.0)) for r in rows]
    penalty = [0.0 if k.endswith("|bias") else (hp["word_l2"] if k.startswith("w|") else hp["l2"]) for k in names] + [
        hp["l2"]
    ]  # the global bias is redundant with the two side biases: keep it at zero-ish
    beta0 = [start.weights.get(k, 0.0) for k in names] + [start.bias] if start is not None else None
    beta = _fit_logistic(X, y, sample_w, penalty, int(hp["max_iter"]), float(hp["tol"]), on_iter, beta0)
    weights = {k: _round(b) for k, b in zip(names, beta[:-1], strict=False) if abs(b) >= 1e-6}
    bias = _round(beta[-1])
    positives = sum(y)
    meta = {
        "trained_on": {
            "rows": len(rows),
            "traces": len(set(traces)),
            "positive_rate": round(positives / len(rows), 4),
            "silences": sum(1 for r in rows if r.get("pred_task") is None),
        },
        "hyper": {k: hp[k] for k in sorted(hp)},
        "seed": seed,
        "features_version": FEATURES_VERSION,
    }
    digest = hashlib.sha256(json.dumps([bias, sorted(weights.items())]).encode()).hexdigest()[:12]
    return Gate(weights=weights, bias=bias, version=f"{FEATURES_VERSION}.{digest}", meta=meta)


# --------------------------------------------------------------------------------------------
# Retraining from the user's own feedback log.

REJECTION_WINDOW_S = 3600.0


def feedback_rows(feedback_log: Path, include_ignored: bool = False) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Reward rows from a feedback log, and how many records of each outcome it held.

    accepted -> valid, rejected -> not valid, ignored -> a weak negative (weight
    ``WEAK_NEGATIVE_WEIGHT``) only with ``include_ignored``; snoozed ("not now") and filtered
    (never shown) records say nothing about the task and are skipped. ``recent_rejections`` is
    what the judge saw: rejections decided in the hour before the proposal was made (found by
    bisection in the sorted rejection times: counting them record by record was quadratic). Rows
    keep the time the proposal was made (``time``), in order, for a time-ordered held-out split.
    """
    from proactive_ls.feedback.log import iter_records

    records = sorted(iter_records(feedback_log), key=lambda r: (r.proposed_at, r.decided_at))
    counts: dict[str, int] = defaultdict(int)
    rejections = sorted(r.decided_at for r in records if r.outcome == "rejected")
    rows: list[dict[str, Any]] = []
    for rec in records:
        counts[rec.outcome] += 1
        if rec.outcome == "accepted":
            valid, weight = True, 1.0
        elif rec.outcome == "rejected":
            valid, weight = False, 1.0
        elif rec.outcome == "ignored" and include_ignored:
            valid, weight = False, WEAK_NEGATIVE_WEIGHT
        else:
            continue
        recent = bisect.bisect_left(rejections, rec.proposed_at) - bisect.bisect_left(
            rejections, rec.proposed_at - REJECTION_WINDOW_S
        )
        rows.append(
            {
                "obs": rec.observations,
                "pred_task": rec.task,
                "valid": valid,
                "weight": weight,
                "recent_rejections": recent,
                "time": rec.proposed_at,
            }
        )
    return rows, dict(counts)
