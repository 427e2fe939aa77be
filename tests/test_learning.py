"""The per-user model and its store, on real files: learning, rebuilding, resetting, reading a log being written."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from proactive_ls.feedback.lifecycle import rotate
from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord
from proactive_ls.judges.gate_retrain import auc, not_worse, split_point
from proactive_ls.learning.context import proposal_context
from proactive_ls.learning.decider import EXPLORE_EVERY, Learner
from proactive_ls.learning.model import UserModel, logit
from proactive_ls.learning.store import LearningStore
from proactive_ls.proposals import Verdict

FAILURE = {"kind": "failure", "command": "pytest", "language": "py"}
COMMIT = {"kind": "commit", "folder": "/work/app"}


def test_a_rejected_kind_falls_below_the_bar_within_a_handful_while_an_accepted_one_stays() -> None:
    model, prior, bar = UserModel(), logit(0.6), 0.35
    answers = 0
    while model.probability(COMMIT, prior) >= bar:
        model.learn(COMMIT, prior, "rejected")
        model.learn(FAILURE, prior, "accepted")
        answers += 1
        assert answers <= 5
    assert answers >= 2  # one answer is not enough to silence a kind
    assert model.probability(FAILURE, prior) > 0.8
    # Ignored counts as a weaker no: it takes more of them.
    ignoring = UserModel()
    ignored = 0
    while ignoring.probability(COMMIT, prior) >= bar:
        ignoring.learn(COMMIT, prior, "ignored")
        ignored += 1
    assert ignored > answers
    # Snoozes and filtered proposals say nothing about the kind.
    before = ignoring.probability(COMMIT, prior)
    ignoring.learn(COMMIT, prior, "snoozed")
    assert ignoring.probability(COMMIT, prior) == before


def test_a_changed_mind_is_followed() -> None:
    model, prior = UserModel(), logit(0.6)
    for _ in range(30):
        model.learn(FAILURE, prior, "accepted")
    high = model.probability(FAILURE, prior)
    rejections = 0
    while model.probability(FAILURE, prior) >= 0.35:
        model.learn(FAILURE, prior, "rejected")
        rejections += 1
    assert high > 0.9 and rejections <= 10


def _record(
    outcome: str, i: int, kind_key: str = "git-commit:/work/app:abc", at: float | None = None
) -> FeedbackRecord:
    at = at if at is not None else time.time() - 1000 + i
    context = proposal_context(kind_key, "Commit the tested changes", None, ["/work/app"])
    return FeedbackRecord(
        proposal_id=f"p{i}",
        outcome=outcome,  # type: ignore[arg-type]
        proposed_at=at - 1,
        decided_at=at,
        task="Commit the tested changes",
        message="Commit?",
        operation="show_markdown",
        proposer="local",
        context=context,
        detail="learned: you did not want commit_draft" if outcome == "filtered" else None,
    )


def test_a_user_who_disagrees_with_the_judge_learns_to_trust_it_less() -> None:
    """The weight on the judge's logit: a user who accepts what the judge doubts and turns down what
    it is sure of ends up ranking proposals against the judge's order; one who agrees, with it."""
    rng = random.Random(3)
    contrary, agreeing = UserModel(), UserModel()
    for _ in range(80):
        score = rng.uniform(0.05, 0.95)
        contrary.learn({"kind": "task:fix"}, logit(score), "accepted" if score < 0.5 else "rejected")
        agreeing.learn({"kind": "task:fix"}, logit(score), "accepted" if score >= 0.5 else "rejected")
    assert contrary.weights["prior"].mean < 0 < agreeing.weights["prior"].mean
    low, high = logit(0.3), logit(0.7)
    assert agreeing.probability({"kind": "task:fix"}, high) > agreeing.probability({"kind": "task:fix"}, low)
    # Its variance is small (0.1): the judge's order still counts for much after a few answers.
    few = UserModel()
    for _ in range(5):
        few.learn({"kind": "task:fix"}, high, "rejected")
    assert few.probability({"kind": "task:fix"}, high) > few.probability({"kind": "task:fix"}, low)


def test_asking_shows_what_the_model_holds_back_and_says_so(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i in range(4):
        log.append_sync(_record("rejected", i))
    learner = Learner(LearningStore(log.path, tmp_path / "state"))
    context = {"kind": "commit_draft"}
    kept = learner.decide(context, None, 0.35)
    assert not kept.show and "did not want commit_draft" in kept.reason
    asked = learner.decide(context, None, 0.35, asked=True)
    assert asked.show and asked.asked and asked.reason.startswith("learned: you asked")
    verdict = learner.verdict(asked, None, "local")
    assert verdict is not None and verdict.accept and verdict.reason.startswith("learned: you asked")


def test_the_store_folds_the_log_and_rebuilds_a_corrupt_or_missing_state(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i, outcome in enumerate(["rejected", "accepted", "rejected", "ignored", "snoozed"]):
        log.append_sync(_record(outcome, i))
    store = LearningStore(log.path, tmp_path / "state")
    assert store.rebuilt == "there was no state file"
    assert store.model.kinds["commit_draft"].to_json()[:3] == [1, 2, 1]
    assert json.loads(store.path.read_text())["model"]["answers"] == 4

    again = LearningStore(log.path, tmp_path / "state")
    assert again.rebuilt is None and again.model.to_json() == store.model.to_json()

    store.path.write_text('{"format": "proactive-ls-learning", "version": 1, "log"')
    rebuilt = LearningStore(log.path, tmp_path / "state")
    assert rebuilt.rebuilt is not None and "corrupt" in rebuilt.rebuilt
    assert rebuilt.model.to_json() == store.model.to_json()

    # A line still being written is left for the next look; the rest is taken in at once.
    with open(log.path, "ab") as f:
        f.write(_record("rejected", 9).model_dump_json().encode()[:40])
    assert rebuilt.sync() == 0
    with open(log.path, "ab") as f:
        f.write(_record("rejected", 9).model_dump_json().encode()[40:] + b"\n")
    assert rebuilt.sync() == 1 and rebuilt.model.kinds["commit_draft"].rejected == 3


def test_a_rotated_log_is_followed_into_its_segments(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i in range(3):
        log.append_sync(_record("rejected", i))
    store = LearningStore(log.path, tmp_path / "state")
    assert store.model.answers == 3
    assert rotate(log.path, max_bytes=1) is not None  # the active file moves to a dated segment
    log.append_sync(_record("accepted", 4))
    store.sync()
    assert store.model.answers == 4 and store.model.kinds["commit_draft"].accepted == 1
    assert "rotated" in (store.rebuilt or "")
    assert LearningStore(log.path, tmp_path / "state").model.answers == 4  # and after a restart


def test_reset_starts_again_from_the_end_of_the_log_in_every_store(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i in range(4):
        log.append_sync(_record("rejected", i))
    one, two = LearningStore(log.path, tmp_path / "state"), LearningStore(log.path, tmp_path / "state")
    assert two.model.answers == 4
    one.reset()  # answers decided before now are not learnt from any more
    assert one.model.answers == 0
    log.append_sync(_record("accepted", 5, at=time.time() + 1))
    two.sync()
    assert two.model.answers == 1 and two.model.kinds["commit_draft"].accepted == 1
    assert LearningStore(log.path, tmp_path / "state").model.answers == 1  # and after a restart


def test_a_silenced_kind_is_explored_again_once_every_so_often(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i in range(6):
        log.append_sync(_record("rejected", i))
    learner = Learner(LearningStore(log.path, tmp_path / "state"), ["/work/app"])
    context = learner.context("git-commit:/work/app:x", "Commit the tested changes", None)
    shown = []
    for i in range(2 * EXPLORE_EVERY):
        decision = learner.decide(context, None, 0.35)
        shown.append(decision.show)
        if not decision.show:
            log.append_sync(_record("filtered", 100 + i))
        else:
            assert decision.explored
            log.append_sync(_record("rejected", 100 + i))
    assert sum(shown) == 2 and shown.index(True) == EXPLORE_EVERY - 1
    # A judge that turned it down stays obeyed: that is not the model's suppression to explore.
    assert not learner.decide(context, Verdict(accept=False, score=0.1), 0.35).show


def test_learning_show_and_reset_on_the_command_line(tmp_path: Path) -> None:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    for i in range(3):
        log.append_sync(_record("rejected", i))
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-m", "proactive_ls", "learning"]
    shown = subprocess.run(
        [*base, "show", "--feedback-log", str(log.path), "--json"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["kinds"]["commit_draft"]["rejected"] == 3
    reset = subprocess.run([*base, "reset", "--feedback-log", str(log.path)], capture_output=True, text=True, env=env)
    assert reset.returncode == 0 and "Forgot" in reset.stdout
    shown = subprocess.run(
        [*base, "show", "--feedback-log", str(log.path), "--json"], capture_output=True, text=True, env=env
    )
    assert json.loads(shown.stdout)["answers"] == 0


def test_auc_matches_counting_pairs() -> None:
    rng = random.Random(1)
    for _ in range(20):
        labels = [rng.random() < 0.4 for _ in range(30)]
        scores = [round(rng.random(), 1) for _ in range(30)]  # ties on purpose
        pos = [s for s, y in zip(scores, labels, strict=True) if y]
        neg = [s for s, y in zip(scores, labels, strict=True) if not y]
        if not pos or not neg:
            continue
        pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
        assert abs(auc(labels, scores) - pairs / (len(pos) * len(neg))) < 1e-12  # type: ignore[operator]


def test_the_install_rule_and_the_time_ordered_split() -> None:
    ok, why = not_worse({"logLoss": 0.5, "auc": 0.8}, {"logLoss": 0.6, "auc": 0.7})
    assert ok and "0.5000 vs 0.6000" in why
    ok, why = not_worse({"logLoss": 0.61, "auc": 0.9}, {"logLoss": 0.6, "auc": 0.7})
    assert not ok and "log-loss" in why
    ok, why = not_worse({"logLoss": 0.5, "auc": 0.6}, {"logLoss": 0.6, "auc": 0.7})
    assert not ok and "AUC" in why
    rows = [{"valid": i % 3 == 0} for i in range(100)]
    assert split_point(rows) == 80
    assert split_point(rows[:15]) == 15  # too few to hold any out
