"""``proactive-ls bench learning``: does the assistant learn what each user wants, and how fast?

Two parts, each against the global-only decision in the same run:

1. **Simulated users through the real engine.** A :class:`~proactive_ls.session.Session` on a
   virtual clock, with its real embedded rules, feedback log and per-user model, is given long
   sessions with many opportunities of every kind (test failures, errors left after a save,
   syntax errors saved, commit drafts after passing tests). A simulated user answers each proposal
   shown by their own rule: accept, reject, or leave it unanswered (ignored). Per user and kind: the
   share of opportunities shown, the acceptance of what was shown, first vs last 20 opportunities,
   and how many answers it took to learn.
2. **ProactiveBench online.** Each of the 16 human traces as a user (label ``valid``), then each
   annotator as a user (their own votes in ``annotation``; slot *i* of one trace behaves as one
   person). Each decision is predicted, in the order of the trace, from the global gate
   (trained leave-one-trace-out) plus only that user's earlier decisions; figures by how many of
   the user's decisions were seen. Thresholds are chosen on the other users only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from proactive_ls.config import parse_settings
from proactive_ls.engine.driver import VirtualClock
from proactive_ls.inputs import EventInput
from proactive_ls.learning.context import task_kind
from proactive_ls.learning.model import DEFAULT_PARAMS, Params, UserModel, logit
from proactive_ls.proposals import ApplyEdit, OpenLocation, Proposal, ShowMarkdown

KINDS = ("failure", "errors", "syntax", "commit")
Answer = str  # "accepted" | "rejected" | "ignored"
Policy = Callable[[str, int, int, random.Random], Answer]  # (kind, opportunity of that kind, of all, rng)
BUCKETS = ((0, 0), (1, 9), (10, 24), (25, 49), (50, 10**9))


# --------------------------------------------------------------------------------------------
# Part 1: simulated users.


def _failures_not_commits(kind: str, i: int, n: int, rng: random.Random) -> Answer:
    return "rejected" if kind == "commit" else "accepted"


def _ignores_syntax(kind: str, i: int, n: int, rng: random.Random) -> Answer:
    return "ignored" if kind == "syntax" else "accepted"


def _changes_mind(kind: str, i: int, n: int, rng: random.Random) -> Answer:
    """Wants failures then stops; did not want commit drafts, then does (switch at the half)."""
    late = i >= n // 2
    if kind == "failure":
        return "rejected" if late else "accepted"
    if kind == "commit":
        return "accepted" if late else "rejected"
    return "accepted"


def _noisy(kind: str, i: int, n: int, rng: random.Random) -> Answer:
    if rng.random() < 0.2:
        return rng.choice(["accepted", "rejected"])
    return _failures_not_commits(kind, i, n, rng)


#: How often a simulated user who wanted a proposal and did not get one asks for it
#: (``proactive.proposeNow``): now and then, not every time.
ASKS = 1 / 3

#: name: (description, how they answer, how often they ask for a proposal they missed).
USERS: dict[str, tuple[str, Policy, float]] = {
    "failures-not-commits": ("accepts failures, rejects commit drafts", _failures_not_commits, ASKS),
    "ignores-syntax": ("leaves syntax nags unanswered", _ignores_syntax, ASKS),
    "changes-mind": ("failures yes then no; commit drafts no then yes", _changes_mind, ASKS),
    "noisy": ("as the first, but answers at random 1 time in 5", _noisy, ASKS),
    "changes-mind-never-asks": ("as changes-mind, but never asks for a proposal", _changes_mind, 0.0),
}
#: The kinds of the simulation as the engine names them (control/kinds.py).
ENGINE_KIND = {"failure": "failing_command", "errors": "errors_after_save", "syntax": "syntax_error"} | {
    "commit": "commit_draft"
}


def _opportunity(kind: str, i: int, root: Path, now: float) -> list[dict[str, Any]]:
    """The events of one opportunity of ``kind`` (number ``i``: every task is new)."""
    module = root / f"pkg{i % 7}" / f"mod_{i}.py"
    uri, path = module.as_uri(), str(module.relative_to(root))
    if kind == "failure":
        failure = {"tool": "pytest", "title": f"test_case_{i}", "summary": f"1 test failed in 'tests/test_{i}.py'"}
        return [
            {
                "kind": "terminal.command",
                "command_line": "pytest -x",
                "cwd": str(root),
                "exit_code": 1,
                "failure": failure,
                "output_tail": f"FAILED tests/test_{i}.py::test_case_{i}",
            }
        ]
    if kind == "errors":
        error = {"line": 3, "character": 4, "message": f'"name_{i}" is not defined', "severity": 1}
        return [
            {"kind": "diagnostics.changed", "uri": uri, "path": path, "errors": 1, "new_errors": 1}
            | {"first_error": error},
            {"kind": "document.saved", "uri": uri, "path": path, "errors": 1},
        ]
    if kind == "syntax":
        return [{"kind": "syntax.error", "uri": uri, "path": path, "line": i % 40, "column": 2, "on_save": True}]
    if kind == "commit":
        return [
            {"kind": "git.worktree", "repo": str(root), "files": 4, "insertions": 120 + i, "deletions": 10},
            {"kind": "terminal.command", "command_line": "pytest", "cwd": str(root), "exit_code": 0},
        ]
    raise ValueError(kind)


class _Editor:
    """The simulated editor: it carries out whatever the simulated user accepts."""

    async def open_location(self, op: OpenLocation) -> bool:
        return True

    async def show_markdown(self, proposal: Proposal, op: ShowMarkdown) -> bool:
        return True

    async def apply_edit(self, proposal: Proposal, op: ApplyEdit) -> bool:
        return True


@dataclass
class Trial:
    """One opportunity: shown or not, and the answer if shown."""

    kind: str
    index: int
    shown: bool
    answer: Answer | None
    wanted: Answer
    asked: bool = False  # shown because the user asked for a proposal (proposeNow)


@dataclass
class UserRun:
    user: str
    learning: bool
    trials: list[Trial] = field(default_factory=list)
    decide_ms: list[float] = field(default_factory=list)


async def simulate(
    user: str, policy: Policy, learning: bool, per_kind: int, seed: int, workdir: Path, asks: float = 0.0
) -> UserRun:
    """One simulated user's long session through a real Session (virtual clock, real log, real model).

    A user who wanted the proposal of an opportunity and did not get it asks for one
    (``proactive.proposeNow``) with probability ``asks``, as a person who misses something does
    now and then; what they are then shown they answer by their own rule, as any other.
    """
    from proactive_ls.session import Session

    rng = random.Random(seed)
    ask_rng = random.Random(seed + 7919)  # its own stream: asking does not change the answers drawn
    order = [k for k in KINDS for _ in range(per_kind)]
    rng.shuffle(order)
    folder = workdir / f"{user}-{'learning' if learning else 'global'}"
    root = folder / "project"
    root.mkdir(parents=True)
    settings = parse_settings(
        {
            "feedbackLog": str(folder / "feedback.jsonl"),
            "learning": learning,
            "quietPeriodMs": 100,
            "minIntervalS": 0,
            "rejectCooldownS": 0,
            "maxPerHour": 3600,
            "ignoreAfterS": 30,
        }
    )
    made: list[Proposal] = []

    async def on_tick(result: Any) -> None:
        made.extend(result.proposals)

    clock = VirtualClock(1_760_000_000.0)
    session = Session(settings, [root], on_tick, driver=clock, actuator=_Editor())
    run = UserRun(user, learning)
    seen: dict[str, int] = defaultdict(int)
    now = clock.now
    for n, kind in enumerate(order):
        i = seen[kind]
        seen[kind] += 1
        wanted = policy(kind, i, per_kind, rng)
        now += 5.0
        await clock.advance(now)
        before = len(made)
        for event in _opportunity(kind, n, root, now):
            session.apply(EventInput(event=event))
        started = time.perf_counter()
        now += 1.0
        await clock.advance(now)
        run.decide_ms.append((time.perf_counter() - started) * 1000)
        shown = len(made) > before
        asked = False
        if not shown and learning and wanted == "accepted" and ask_rng.random() < asks:
            await session.propose_now()
            asked = shown = len(made) > before and made[-1].kind == ENGINE_KIND[kind]
            if len(made) > before and not asked:  # the request brought up something else: "not now"
                await session.not_now(made[-1].id)
        answer: Answer | None = None
        if shown:
            proposal = made[-1]
            answer = wanted
            if wanted == "accepted":
                await session.accept(proposal.id)
            elif wanted == "rejected":
                await session.reject(proposal.id)
            else:
                now += settings.ignore_after_s + 1
                await clock.advance(now)
        run.trials.append(Trial(kind, i, shown, answer, wanted, asked))
    await session.aclose()
    return run


def _share(xs: Sequence[bool]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def kind_figures(run: UserRun, kind: str, per_kind: int) -> dict[str, Any]:
    trials = [t for t in run.trials if t.kind == kind]
    shown = [t for t in trials if t.shown]
    accepted = [t.answer == "accepted" for t in shown]
    first, last = trials[:20], trials[-20:]
    answers_to_learn = None
    answered = 0
    for t in trials:  # answers until it first stayed silent (a kind the user does not want)
        if t.shown:
            answered += 1
        elif answers_to_learn is None:
            answers_to_learn = answered
    return {
        "opportunities": len(trials),
        "shown": _share([t.shown for t in trials]),
        "acceptanceOfShown": _share(accepted),
        "first20Shown": _share([t.shown for t in first]),
        "last20Shown": _share([t.shown for t in last]),
        "first20Acceptance": _share([t.answer == "accepted" for t in first if t.shown]),
        "last20Acceptance": _share([t.answer == "accepted" for t in last if t.shown]),
        "answersBeforeFirstSilence": answers_to_learn,
        "shownOnRequest": sum(t.asked for t in trials),
    }


def changed_mind(run: UserRun, per_kind: int) -> dict[str, int | None]:
    """Opportunities after the switch (half-way) until the change is followed: failures (yes -> no)
    until the first kept back; commit drafts (no -> yes) until first shown at all (asked for or
    explored), and until the model shows one of its own accord (the figure the target is about)."""
    out: dict[str, int | None] = {}
    failures = [t for t in run.trials if t.kind == "failure" and t.index >= per_kind // 2]
    commits = [t for t in run.trials if t.kind == "commit" and t.index >= per_kind // 2]
    k = next((j for j, t in enumerate(failures) if not t.shown), None)
    out["failure yes->no"] = None if k is None else k + 1
    k = next((j for j, t in enumerate(commits) if t.shown), None)
    out["commit no->yes, first shown (asked for or not)"] = None if k is None else k + 1
    k = next((j for j, t in enumerate(commits) if t.shown and not t.asked), None)
    out["commit no->yes"] = None if k is None else k + 1
    return out


def targets(runs: dict[str, UserRun], per_kind: int) -> dict[str, Any]:
    """The issue's targets, measured on the learning runs."""
    out: dict[str, Any] = {}
    consistent = [runs[u] for u in ("failures-not-commits", "ignores-syntax")]
    after20 = []
    for run in consistent:
        answered = 0
        for t in run.trials:
            if t.shown:
                answered += 1
                if answered > 20:
                    after20.append(t.answer == "accepted")
    out["acceptanceOfShownAfter20Answers"] = {"value": _share(after20), "target": ">= 0.9"}
    worst = 0
    for run, kind in ((runs["failures-not-commits"], "commit"), (runs["ignores-syntax"], "syntax")):
        trials = [t for t in run.trials if t.kind == kind]
        nos, start = 0, None
        for j, t in enumerate(trials):
            if t.shown and t.answer != "accepted":
                nos += 1
                if nos == 5:
                    start = j + 1
                    break
        rest = trials[start:] if start is not None else []
        for j in range(max(0, len(rest) - 19)):
            worst = max(worst, sum(t.shown for t in rest[j : j + 20]))
        if start is None:  # silenced before the 5th no: count from the first silence
            silent_from = next((j for j, t in enumerate(trials) if not t.shown), len(trials))
            rest = trials[silent_from:]
            for j in range(max(0, len(rest) - 19)):
                worst = max(worst, sum(t.shown for t in rest[j : j + 20]))
    out["unwantedKindShownPer20AfterItsFirst5Nos"] = {"value": worst, "target": "<= 1"}
    accepted_kinds = [
        t.shown
        for run in consistent
        for t in run.trials
        if (run.user, t.kind) not in (("failures-not-commits", "commit"), ("ignores-syntax", "syntax"))
    ]
    out["wantedKindShown"] = {"value": _share(accepted_kinds), "target": ">= 0.95"}
    noticed: dict[str, int | None] = {}
    for user in ("changes-mind", "changes-mind-never-asks"):
        for name, value in changed_mind(runs[user], per_kind).items():
            noticed[f"{user}: {name}"] = value
    out["changedMindNoticedWithin"] = {"value": noticed, "target": "<= 10 opportunities"}
    return out


# --------------------------------------------------------------------------------------------
# Part 2: ProactiveBench online.


def _auc(labels: Sequence[bool], scores: Sequence[float]) -> float | None:
    from proactive_ls.judges.gate_retrain import auc

    return auc(labels, scores)


def _best_threshold(pairs: Sequence[tuple[float, bool]]) -> float:
    """The threshold with the best F1 on these (score, label) pairs (one sweep over the sorted scores)."""
    ordered = sorted(pairs, key=lambda p: -p[0])
    positives = sum(1 for _, y in ordered if y)
    best, best_f1, tp, fp = 1.0, -1.0, 0, 0
    i = 0
    while i < len(ordered):
        score = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == score:  # everything at or above `score` is shown
            tp, fp = tp + ordered[i][1], fp + (not ordered[i][1])
            i += 1
        f1 = 2 * tp / (tp + fp + positives) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = score, f1
    return best


def _classify(rows: Sequence[tuple[float, bool, float]]) -> dict[str, Any]:
    """F1, accuracy, AUC of (score, label, threshold) rows."""
    if not rows:
        return {"n": 0}
    tp = sum(1 for s, y, c in rows if s >= c and y)
    fp = sum(1 for s, y, c in rows if s >= c and not y)
    fn = sum(1 for s, y, c in rows if s < c and y)
    tn = len(rows) - tp - fp - fn
    a = _auc([y for _, y, _ in rows], [s for s, _, _ in rows])
    return {
        "n": len(rows),
        "f1": round(2 * tp / (2 * tp + fp + fn), 3) if tp else 0.0,
        "accuracy": round((tp + tn) / len(rows), 3),
        "auc": round(a, 3) if a is not None else None,
    }


Decision = tuple[float, bool, str | None]  # (global score, label, task or None for silence)


Prediction = tuple[float, bool, int]  # (probability, label, how many of the user's decisions were seen)


def predict_online(steps: list[list[Decision]], params: Params) -> list[Prediction]:
    """One user's decisions predicted in time order from the prior plus their earlier ones only
    (a step's decisions are all predicted before any of them is learnt)."""
    model = UserModel(params=params)
    out: list[Prediction] = []
    seen = 0
    for step in steps:
        for score, label, task in step:
            out.append((model.probability({"kind": task_kind(task)}, logit(score)), label, seen))
        for score, label, task in step:
            model.learn({"kind": task_kind(task)}, logit(score), "accepted" if label else "rejected")
        seen += len(step)
    return out


#: The hyper-parameters tried by the nested cross-validation (the product's defaults among them).
GRID: tuple[Params, ...] = tuple(
    Params(user=u, kind=k, prior=p, forget=f)
    for u in (0.2, 1.0)
    for k in (0.3, 1.0, 3.0)
    for p in (0.0, 0.05, 0.1, 0.3)
    for f in (0.9, 0.95, 1.0)
)
FOLDS = 4


def _log_loss(preds: Sequence[Prediction]) -> float:
    total = 0.0
    for s, y, _ in preds:
        s = min(1 - 1e-6, max(1e-6, s))
        total -= math.log(s if y else 1 - s)
    return total / max(1, len(preds))


def nested(
    users: dict[Any, list[list[Decision]]], group: Callable[[Any], Any]
) -> tuple[dict[Any, list[Prediction]], list[dict[str, Any]]]:
    """Per-user predictions with hyper-parameters chosen on other users only: the users are split
    into :data:`FOLDS` folds by ``group`` (their trace: two annotators of one trace judged the same
    proposals), and each fold is predicted with the :data:`GRID` setting of least log-loss on the
    other folds' users. Returns the predictions and, per fold, what was chosen."""
    groups = sorted({group(u) for u in users}, key=str)
    fold_of = {g: i % FOLDS for i, g in enumerate(groups)}
    by_params = [{u: predict_online(steps, params) for u, steps in users.items()} for params in GRID]
    chosen: dict[Any, list[Prediction]] = {}
    folds = []
    for fold in range(FOLDS):
        inside = [u for u in users if fold_of[group(u)] == fold]
        others = [u for u in users if fold_of[group(u)] != fold]
        losses = [_log_loss([p for u in others for p in preds[u]]) for preds in by_params]
        best = min(range(len(GRID)), key=losses.__getitem__)
        folds.append(
            {"users": len(inside), "params": dataclasses.asdict(GRID[best]), "innerLogLoss": round(losses[best], 4)}
        )
        for u in inside:
            chosen[u] = by_params[best][u]
    return chosen, folds


def _buckets(by_user: dict[Any, list[Prediction]]) -> dict[str, Any]:
    """F1 / accuracy / AUC by how many of the user's decisions were seen, each user's threshold
    chosen on the other users only."""
    rows_by_bucket: dict[str, list[tuple[float, bool, float]]] = defaultdict(list)
    for user, preds in by_user.items():
        others = [(s, y) for v, p in by_user.items() if v != user for s, y, _ in p]
        threshold = _best_threshold(others)  # chosen on the other users only
        for s, y, k in preds:
            for lo, hi in BUCKETS:
                if lo <= k <= hi:
                    name = f"{lo}" if lo == hi else (f"{lo}+" if hi >= 10**9 else f"{lo}-{hi}")
                    rows_by_bucket[name].append((s, y, threshold))
            if k >= 24:
                rows_by_bucket["from25th"].append((s, y, threshold))
            rows_by_bucket["all"].append((s, y, threshold))
    return {b: _classify(r) for b, r in rows_by_bucket.items()}


def online(users: dict[Any, list[list[Decision]]], group: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Each user's decisions predicted in time order three ways: the global judge alone; with the
    per-user model at the product's defaults (:data:`DEFAULT_PARAMS`, chosen knowing every user:
    an optimistic figure); and with the per-user model's hyper-parameters chosen by nested
    cross-validation across users (the honest figure)."""
    group = group if group is not None else (lambda u: u)
    global_only: dict[Any, list[Prediction]] = {}
    for u, steps in users.items():  # the global judge's predictions, with the same "seen" counts
        seen = 0
        preds: list[Prediction] = []
        for step in steps:
            preds.extend((s, y, seen) for s, y, _ in step)
            seen += len(step)
        global_only[u] = preds
    defaults = {u: predict_online(steps, DEFAULT_PARAMS) for u, steps in users.items()}
    cross, folds = nested(users, group)
    return {
        "global": _buckets(global_only),
        "perUser": _buckets(cross),
        "perUserDefaults": _buckets(defaults),
        "folds": folds,
    }


def proactivebench_users(data: Path) -> tuple[dict[Any, list[list[Decision]]], dict[Any, list[list[Decision]]]]:
    """(per-trace users, per-annotator users): each user's steps in time order, scored by the gate
    trained leave-one-trace-out. The file's rows are shuffled: a row's moment is its last observation."""
    from proactive_ls.judges.gate import parse_time
    from proactive_ls.judges.gate_train import group_traces, load_reward_rows, row_features, train_gate
    from proactive_ls.learning.model import sigmoid

    rows = load_reward_rows(data / "reward_data" / "train_data.jsonl")
    traces = group_traces(rows)
    feats = [row_features(r) for r in rows]
    scores = [0.0] * len(rows)
    for t in sorted(set(traces)):
        train = [i for i, x in enumerate(traces) if x != t]
        gate = train_gate([rows[i] for i in train], feats=[feats[i] for i in train])
        for i, x in enumerate(traces):
            if x == t:
                scores[i] = sigmoid(gate.logit(feats[i]))

    def moment(i: int) -> tuple[float, int, str]:
        last = rows[i]["obs"][-1] if rows[i]["obs"] else {}
        return (parse_time(last.get("time")) or 0.0, len(rows[i]["obs"]), str(last.get("event", "")))

    by_trace: dict[Any, dict[tuple[float, int, str], list[Decision]]] = defaultdict(lambda: defaultdict(list))
    by_annotator: dict[Any, dict[tuple[float, int, str], list[Decision]]] = defaultdict(lambda: defaultdict(list))
    for i, row in enumerate(rows):
        when = moment(i)
        by_trace[traces[i]][when].append((scores[i], bool(row["valid"]), row.get("pred_task")))
        for slot, vote in enumerate(row.get("annotation") or []):
            by_annotator[(traces[i], slot)][when].append((scores[i], bool(vote), row.get("pred_task")))

    def ordered(users: dict[Any, dict[tuple[float, int, str], list[Decision]]]) -> dict[Any, list[list[Decision]]]:
        return {u: [steps[k] for k in sorted(steps)] for u, steps in users.items()}

    return ordered(by_trace), ordered(by_annotator)


# --------------------------------------------------------------------------------------------
# The decision's cost.


def _pinned() -> contextlib.AbstractContextManager[int | None]:
    """Run on one core (the last one this process may use), then restore: one decision, one core."""

    @contextlib.contextmanager
    def pin() -> Iterator[int | None]:
        getter = getattr(os, "sched_getaffinity", None)
        setter = getattr(os, "sched_setaffinity", None)
        if getter is None or setter is None:
            yield None
            return
        before = getter(0)
        core = max(before)
        try:
            setter(0, {core})
        except OSError:
            yield None
            return
        try:
            yield core
        finally:
            setter(0, before)

    return pin()


def decision_cost(data: Path | None, n: int = 400, repeats: int = 5) -> dict[str, Any]:
    """CPU time of one decision on one core: the packaged gate's score, the per-user step, both.

    The machine this runs on is shared, so wall-clock percentiles measure its load as much as the
    code. This counts the thread's own CPU time (``time.thread_time_ns``: time on a core, not time
    waiting for one), pinned to one core, over ``repeats`` passes of ``n`` ProactiveBench histories;
    the per-user step is what the engine runs after the judge (the proposal's context, the look at
    the log, the model's probability). The wall-clock p99 is given beside it, for what it says about
    the load.
    """
    from proactive_ls.judges.gate import Gate
    from proactive_ls.learning.decider import Learner
    from proactive_ls.learning.store import LearningStore
    from proactive_ls.proposals import Verdict

    gate = Gate.load()
    rows: list[dict[str, Any]] = []
    if data is not None and (data / "reward_data" / "train_data.jsonl").is_file():
        from proactive_ls.judges.gate_train import load_reward_rows

        rows = load_reward_rows(data / "reward_data" / "train_data.jsonl")[:n]
    if not rows:
        rows = [{"obs": [{"time": "1", "event": "The user ran 'pytest' in the terminal; 1 test failed."}]}] * n
    with tempfile.TemporaryDirectory() as tmp, _pinned() as core:
        log = Path(tmp) / "feedback.jsonl"
        log.write_text("")
        learner = Learner(LearningStore(log, Path(tmp) / "state"), [tmp])
        anchor = (Path(tmp) / "src" / "calc.py").as_uri()
        gate_ns: list[int] = []
        user_ns: list[int] = []
        wall_ns: list[int] = []
        cpu, wall = time.thread_time_ns, time.perf_counter_ns
        for _ in range(repeats):
            for row in rows:
                task = row.get("pred_task") or "Open the failure of test_x"
                w0, t0 = wall(), cpu()
                s = gate.score(row["obs"], task)
                t1 = cpu()
                context = learner.context("terminal:pytest:x", task, anchor)
                learner.decide(context, Verdict(accept=True, score=s), 0.35)
                t2, w1 = cpu(), wall()
                gate_ns.append(t1 - t0)
                user_ns.append(t2 - t1)
                wall_ns.append(w1 - w0)
    total = [a + b for a, b in zip(gate_ns, user_ns, strict=True)]

    def ms(xs: list[int], q: int) -> float:
        return round(statistics.quantiles(xs, n=100)[q - 1] / 1e6, 4)

    return {
        "decisions": len(total),
        "histories": len(rows),
        "clock": "thread CPU time",
        "core": core,
        "gate": {"p50": ms(gate_ns, 50), "p99": ms(gate_ns, 99)},
        "perUser": {"p50": ms(user_ns, 50), "p99": ms(user_ns, 99)},
        "both": {"p50": ms(total, 50), "p99": ms(total, 99)},
        "bothWallClock": {"p50": ms(wall_ns, 50), "p99": ms(wall_ns, 99)},
    }


# --------------------------------------------------------------------------------------------


#: The changed mind is measured again over this many seeds (where the switch falls among the other
#: kinds' opportunities, and when the user asks, are chance).
SEEDS = 10


async def _changed_mind_over_seeds(per_kind: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Commit drafts no -> yes, noticed after how many opportunities, over :data:`SEEDS` seeds."""
    out: dict[str, Any] = {}
    for user in ("changes-mind", "changes-mind-never-asks"):
        _, policy, asks = USERS[user]
        values: list[int | None] = []
        for s in range(SEEDS):
            run = await simulate(f"{user}-seed{s}", policy, True, per_kind, seed + 100 * s, workdir / "seeds", asks)
            values.append(changed_mind(run, per_kind)["commit no->yes"])
        known = sorted(v if v is not None else per_kind for v in values)
        out[user] = {
            "noticedAfter": values,
            "median": statistics.median(known),
            "max": known[-1],
            "within10": _share([v is not None and v <= 10 for v in values]),
        }
    return out


async def _simulated(per_kind: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="proactive-bench-learning-") as tmp:
        workdir = Path(tmp)
        old = os.environ.get("XDG_DATA_HOME")
        os.environ["XDG_DATA_HOME"] = str(workdir / "data")  # the users' state stays in this run
        try:
            runs: dict[bool, dict[str, UserRun]] = {True: {}, False: {}}
            for learning in (True, False):
                for n, (user, (_, policy, asks)) in enumerate(USERS.items()):
                    runs[learning][user] = await simulate(user, policy, learning, per_kind, seed + n, workdir, asks)
        finally:
            if old is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = old
        over_seeds = await _changed_mind_over_seeds(per_kind, seed, workdir)
    figures = {
        ("learning" if learning else "globalOnly"): {
            user: {kind: kind_figures(run, kind, per_kind) for kind in KINDS} for user, run in by_user.items()
        }
        for learning, by_user in runs.items()
    }
    step_ms = [ms for run in runs[True].values() for ms in run.decide_ms]
    return {
        "perKind": per_kind,
        "users": {u: d for u, (d, _, _) in USERS.items()},
        "figures": figures,
        "targets": targets(runs[True], per_kind),
        "changedMindOverSeeds": over_seeds,
        "engineStepMs": {"p50": round(statistics.median(step_ms), 3), "max": round(max(step_ms), 3)},
    }


def run_bench(
    data: Path | None, per_kind: int = 60, seed: int = 0, skip_proactivebench: bool = False
) -> dict[str, Any]:
    result: dict[str, Any] = {"simulated": asyncio.run(_simulated(per_kind, seed))}
    if data is not None and not skip_proactivebench:
        by_trace, by_annotator = proactivebench_users(data)
        result["proactivebench"] = {
            "traces": {"users": len(by_trace), **online(by_trace)},
            "annotators": {"users": len(by_annotator), **online(by_annotator, group=lambda u: u[0])},
        }
    result["decisionCost"] = decision_cost(data)
    return result


def _tables(result: dict[str, Any]) -> list[Table]:
    tables = []
    sim = result["simulated"]
    t = Table(title=f"Simulated users through the real engine ({sim['perKind']} opportunities per kind)")
    for col in ("user", "kind", "shown", "accepted of shown", "first 20 shown", "last 20 shown", "answers to learn"):
        t.add_column(col)
    t.add_column("global only: shown / accepted")
    for user in sim["figures"]["learning"]:
        for kind in KINDS:
            f = sim["figures"]["learning"][user][kind]
            g = sim["figures"]["globalOnly"][user][kind]
            t.add_row(
                user,
                kind,
                str(f["shown"]),
                str(f["acceptanceOfShown"]),
                str(f["first20Shown"]),
                str(f["last20Shown"]),
                str(f["answersBeforeFirstSilence"]),
                f"{g['shown']} / {g['acceptanceOfShown']}",
            )
    tables.append(t)
    t = Table(title="Targets (learning)")
    for col in ("target", "measured", "wanted"):
        t.add_column(col)
    for name, v in sim["targets"].items():
        t.add_row(name, json.dumps(v["value"]), v["target"])
    tables.append(t)
    t = Table(title=f"Commit drafts no -> yes: opportunities until shown unasked ({SEEDS} seeds)")
    for col in ("user", "per seed", "median", "max", "within 10"):
        t.add_column(col)
    for user, v in sim["changedMindOverSeeds"].items():
        t.add_row(user, json.dumps(v["noticedAfter"]), str(v["median"]), str(v["max"]), str(v["within10"]))
    tables.append(t)
    for part in ("traces", "annotators"):
        pb = result.get("proactivebench", {}).get(part)
        if not pb:
            continue
        t = Table(title=f"ProactiveBench online, {pb['users']} {part} as users (F1 / accuracy / AUC)")
        t.add_column("decisions seen")
        t.add_column("n")
        t.add_column("global only")
        t.add_column("+ per-user, cross-validated")
        t.add_column("+ per-user, product defaults")
        for bucket in ("0", "1-9", "10-24", "25-49", "50+", "from25th", "all"):
            g = pb["global"].get(bucket, {"n": 0})
            if not g["n"]:
                continue
            u, d = pb["perUser"][bucket], pb["perUserDefaults"][bucket]
            t.add_row(
                bucket,
                str(g["n"]),
                f"{g['f1']} / {g['accuracy']} / {g['auc']}",
                f"{u['f1']} / {u['accuracy']} / {u['auc']}",
                f"{d['f1']} / {d['accuracy']} / {d['auc']}",
            )
        tables.append(t)
        t = Table(title=f"Hyper-parameters chosen per fold of {part} (on the other folds' users)")
        for col in ("fold", "users", "user", "kind", "prior", "forget", "inner log-loss"):
            t.add_column(col)
        for i, f in enumerate(pb["folds"]):
            q = f["params"]
            t.add_row(
                str(i),
                str(f["users"]),
                *(str(q[k]) for k in ("user", "kind", "prior", "forget")),
                str(f["innerLogLoss"]),
            )
        tables.append(t)
    cost = result["decisionCost"]
    t = Table(title=f"One decision, ms of CPU time ({cost['decisions']} decisions, one core)")
    for col in ("step", "p50", "p99"):
        t.add_column(col)
    for step in ("gate", "perUser", "both"):
        t.add_row(step, str(cost[step]["p50"]), str(cost[step]["p99"]))
    t.add_row("both, wall clock", str(cost["bothWallClock"]["p50"]), str(cost["bothWallClock"]["p99"]))
    tables.append(t)
    return tables


def main_bench_learning(data: Path | None, json_out: bool, per_kind: int = 60, seed: int = 0) -> int:
    """Both parts, as tables (``--json``: the whole result, tables not printed)."""
    from proactive_ls.bench.gate_eval import default_data_dir

    folder = data if data is not None else default_data_dir()
    err = Console(stderr=True)
    if folder is not None and not (folder / "reward_data" / "train_data.jsonl").is_file():
        err.print(f"[yellow]ProactiveBench data not found in {folder}: running the simulated users only[/yellow]")
        folder = None
    elif folder is None:
        err.print("[yellow]No ProactiveBench data: running the simulated users only[/yellow]")
    result = run_bench(folder, per_kind, seed)
    if json_out:
        json.dump(result, sys.stdout, indent=1)
        print()
    else:
        console = Console()
        for table in _tables(result):
            console.print(table)
    return 0
