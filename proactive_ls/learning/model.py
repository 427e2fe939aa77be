"""The per-user model: logit offsets on top of the global gate, learnt online from each answer.

The probability that this user accepts a proposal is ``sigmoid(prior + sum of weights)``, where
``prior`` is the logit of the global judge's score (the gate's, or a fixed prior for judges
without a score) and the weights are those of the proposal's context features (the user, the
kind, the kind in a language, folder or command), plus one on the prior's logit itself (how much
this user agrees with the judge). Each weight is a Gaussian belief (mean,
precision), updated after each answer by one Newton step of Bayesian logistic regression with a
diagonal Laplace approximation (Chapelle & Li, 2011): the answer's surprise is shared among the
active weights in proportion to their variances, and the step is damped by the curvature as a
rank-one update would (Sherman-Morrison), so five features together move no faster than one.
Precisions decay a little towards the prior at each update, so old answers weigh less and a
changed mind is noticed. An ignored proposal is a weak no (weight :data:`IGNORED_WEIGHT`).

Pure arithmetic on dicts: a decision costs a few dictionary lookups.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from proactive_ls.learning.context import context_features


@dataclass(frozen=True)
class Params:
    """The model's hyper-parameters: each family's prior variance (how far this user may differ
    from the global judge there) and how much of what is learnt each update keeps.

    The defaults keep the simulated users' targets (``proactive-ls bench learning``); ``prior``'s
    0.1 is from a sweep on ProactiveBench's annotators (0.05 to 0.5 within 0.003 AUC of each
    other). The bench also chooses them by nested cross-validation across users (tuned on some
    traces' annotators, measured on the others), and reports both; docs/evaluation.md.
    """

    user: float = 0.2  # the user as a whole: a little more or less eager than the judge
    kind: float = 1.0  # one kind: the user may want it much more or less than the judge thinks
    detail: float = 0.3  # a kind in one language, folder or command
    prior: float = 0.1  # how much the user trusts the judge: a weight on its logit
    forget: float = 0.95  # memory of about 20 answers: a changed mind is followed

    def variance(self, family: str) -> float:
        return float(getattr(self, family))


DEFAULT_PARAMS = Params()
IGNORED_WEIGHT = 0.5
MAX_ABS_MEAN = 6.0
#: Outcomes and what they say: (label, weight). Snoozes ("not now") and filtered proposals say
#: nothing about whether the user wants this kind.
LABELS: dict[str, tuple[float, float]] = {
    "accepted": (1.0, 1.0),
    "rejected": (0.0, 1.0),
    "ignored": (0.0, IGNORED_WEIGHT),
}


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(1 - 1e-6, max(1e-6, p))
    return math.log(p / (1 - p))


def _family(name: str) -> str:
    if name in ("user", "prior"):
        return name
    return "detail" if "|" in name else "kind"


@dataclass
class Belief:
    mean: float
    precision: float

    @classmethod
    def prior(cls, name: str, params: Params = DEFAULT_PARAMS) -> Belief:
        return cls(0.0, 1.0 / params.variance(_family(name)))


@dataclass
class KindTally:
    """What the user did with one kind, for status and for re-exploring."""

    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    suppressed_since_shown: int = 0

    def to_json(self) -> list[int]:
        return [self.accepted, self.rejected, self.ignored, self.suppressed_since_shown]


@dataclass
class UserModel:
    weights: dict[str, Belief] = field(default_factory=dict)
    kinds: dict[str, KindTally] = field(default_factory=dict)
    answers: int = 0
    params: Params = DEFAULT_PARAMS

    def _active(self, context: Mapping[str, str], prior_logit: float) -> list[tuple[str, float]]:
        """The context's features with their values, and ``prior``, a weight on the judge's logit
        (how much this user agrees with the judge: the measurements on ProactiveBench's annotators
        say it helps most). The user-wide weight counts less for a kind that has evidence of its own
        (by the share of the kind's prior precision in its precision): without that, accepting other
        kinds would, little by little, bring back a kind the user turned down, because a diagonal
        posterior forgets that the two weights explain the same answers.
        """
        names = context_features(context)
        kind = self.weights.get(names[1]) if len(names) > 1 else None
        share = (1.0 / self.params.kind) / kind.precision if kind is not None else 1.0
        active = [(name, share if name == "user" else 1.0) for name in names]
        if self.params.prior > 0:  # 0: the user's trust in the judge is not learnt
            active.append(("prior", prior_logit))
        return active

    def offset(self, active: Iterable[tuple[str, float]]) -> float:
        w = self.weights
        total = 0.0
        for name, x in active:
            belief = w.get(name)
            if belief is not None:
                total += belief.mean * x
        return total

    def probability(self, context: Mapping[str, str], prior_logit: float) -> float:
        return sigmoid(prior_logit + self.offset(self._active(context, prior_logit)))

    def learn(self, context: Mapping[str, str], prior_logit: float, outcome: str) -> None:
        """Take one answer into account; outcomes that say nothing about the kind are skipped."""
        if outcome not in LABELS:
            return
        label, weight = LABELS[outcome]
        active = self._active(context, prior_logit)
        p = sigmoid(prior_logit + self.offset(active))
        curvature = weight * p * (1.0 - p)
        beliefs = []
        forget = self.params.forget
        for name, x in active:
            base = 1.0 / self.params.variance(_family(name))
            belief = self.weights.get(name) or Belief(0.0, base)
            belief.precision = base + forget * (belief.precision - base)  # old answers weigh a little less
            beliefs.append((belief, x))
            self.weights[name] = belief
        variance = sum(x * x / b.precision for b, x in beliefs)
        scale = weight * (label - p) / (1.0 + curvature * variance)
        for belief, x in beliefs:
            belief.mean = max(-MAX_ABS_MEAN, min(MAX_ABS_MEAN, belief.mean + scale * x / belief.precision))
            belief.precision += curvature * x * x
        tally = self.kinds.setdefault(context.get("kind", "task:other"), KindTally())
        setattr(tally, outcome, getattr(tally, outcome) + 1)
        tally.suppressed_since_shown = 0
        self.answers += 1

    def suppressed(self, context: Mapping[str, str]) -> None:
        """The model kept a proposal of this kind from being shown (counted for re-exploring)."""
        self.kinds.setdefault(context.get("kind", "task:other"), KindTally()).suppressed_since_shown += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "answers": self.answers,
            "weights": {k: [round(b.mean, 6), round(b.precision, 6)] for k, b in sorted(self.weights.items())},
            "kinds": {k: t.to_json() for k, t in sorted(self.kinds.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UserModel:
        weights = {str(k): Belief(float(v[0]), float(v[1])) for k, v in dict(data["weights"]).items()}
        kinds = {str(k): KindTally(*(int(x) for x in v)) for k, v in dict(data["kinds"]).items()}
        for b in weights.values():
            if not (math.isfinite(b.mean) and math.isfinite(b.precision) and b.precision > 0):
                raise ValueError("a weight is not a finite belief")
        return cls(weights=weights, kinds=kinds, answers=int(data["answers"]))
