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
import json
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
from proactive_ls.learning.model import UserModel, logit
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


USERS: dict[str, tuple[str, Policy]] = {
    "failures-not-commits": ("accepts failures, rejects commit drafts", _failures_not_commits),
    "ignores-syntax": ("leaves syntax nags unanswered", _ignores_syntax),
    "changes-mind": ("failures yes then no; commit drafts no then yes", _changes_mind),
    "noisy": ("as the first, but answers at random 1 time in 5", _noisy),
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


@dataclass
class UserRun:
    user: str
    learning: bool
    trials: list[Trial] = field(default_factory=list)
    decide_ms: list[float] = field(default_factory=list)


async def simulate(user: str, policy: Policy, learning: bool, per_kind: int, seed: int, workdir: Path) -> UserRun:
    """One simulated user's long session through a real Session (virtual clock, real log, real model)."""
    from proactive_ls.session import Session

    rng = random.Random(seed)
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
        run.trials.append(Trial(kind, i, shown, answer, wanted))
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
    }


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
    mind = runs["changes-mind"]
    noticed: dict[str, int | None] = {}
    for kind, direction in (("failure", "yes->no"), ("commit", "no->yes")):
        after = [t for t in mind.trials if t.kind == kind and t.index >= per_kind // 2]
        if direction == "yes->no":  # opportunities after the switch until it first stays silent
            k = next((j for j, t in enumerate(after) if not t.shown), None)
        else:  # until it is shown (and accepted) again
            k = next((j for j, t in enumerate(after) if t.shown), None)
        noticed[f"{kind} {direction}"] = None if k is None else k + 1
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


def online(users: dict[Any, list[list[Decision]]]) -> dict[str, Any]:
    """Predict each user's decisions in time order from the prior plus their earlier ones.

    ``users`` maps a user to its steps in time order, each step the decisions judged at that moment
    (several proposals, or silence, for one history). A step is predicted from the earlier steps
    only; its own answers are learnt once all of it is predicted.
    """
    predictions: dict[str, dict[Any, list[tuple[float, bool, int]]]] = {"global": {}, "perUser": {}}
    for user, steps in users.items():
        model = UserModel()
        g: list[tuple[float, bool, int]] = []
        u: list[tuple[float, bool, int]] = []
        seen = 0
        for step in steps:
            for score, label, task in step:
                g.append((score, label, seen))
                u.append((model.probability({"kind": task_kind(task)}, logit(score)), label, seen))
            for score, label, task in step:
                model.learn({"kind": task_kind(task)}, logit(score), "accepted" if label else "rejected")
            seen += len(step)
        predictions["global"][user] = g
        predictions["perUser"][user] = u
    result: dict[str, Any] = {}
    for method, by_user in predictions.items():
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
        result[method] = {b: _classify(r) for b, r in rows_by_bucket.items()}
    return result


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


async def _simulated(per_kind: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="proactive-bench-learning-") as tmp:
        workdir = Path(tmp)
        old = os.environ.get("XDG_DATA_HOME")
        os.environ["XDG_DATA_HOME"] = str(workdir / "data")  # the users' state stays in this run
        try:
            runs: dict[bool, dict[str, UserRun]] = {True: {}, False: {}}
            for learning in (True, False):
                for n, (user, (_, policy)) in enumerate(USERS.items()):
                    runs[learning][user] = await simulate(user, policy, learning, per_kind, seed + n, workdir)
        finally:
            if old is None:
                os.environ.pop("XDG_DATA_HOME", None)
            else:
                os.environ["XDG_DATA_HOME"] = old
    figures = {
        ("learning" if learning else "globalOnly"): {
            user: {kind: kind_figures(run, kind, per_kind) for kind in KINDS} for user, run in by_user.items()
        }
        for learning, by_user in runs.items()
    }
    step_ms = [ms for run in runs[True].values() for ms in run.decide_ms]
    return {
        "perKind": per_kind,
        "users": {u: d for u, (d, _) in USERS.items()},
        "figures": figures,
        "targets": targets(runs[True], per_kind),
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
            "annotators": {"users": len(by_annotator), **online(by_annotator)},
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
    for part in ("traces", "annotators"):
        pb = result.get("proactivebench", {}).get(part)
        if not pb:
            continue
        t = Table(title=f"ProactiveBench online, {pb['users']} {part} as users (F1 / accuracy / AUC)")
        t.add_column("decisions seen")
        t.add_column("n")
        t.add_column("global only")
        t.add_column("global + per-user")
        for bucket in ("0", "1-9", "10-24", "25-49", "50+", "from25th", "all"):
            g, u = pb["global"].get(bucket, {"n": 0}), pb["perUser"].get(bucket, {"n": 0})
            if not g["n"]:
                continue
            t.add_row(
                bucket,
                str(g["n"]),
                f"{g['f1']} / {g['accuracy']} / {g['auc']}",
                f"{u['f1']} / {u['accuracy']} / {u['auc']}",
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
