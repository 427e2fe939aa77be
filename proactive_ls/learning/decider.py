"""The per-user step of the decision to speak: the global judge's verdict, adjusted by what this user answered.

The engine asks it after the judge (and after any explicit mute, which overrides everything):
the judge's score is the prior, the user's model moves it, and the proposal is shown when the
result reaches the bar of the user's eagerness. How a user who changed their mind is heard:

- when they ask for a proposal (``proactive.proposeNow``), what the model would hold back is
  shown: a request is the user's word, which an inference from older answers does not overrule
  (explicit mutes, being their word too, still do). Their answer to it is learnt like any other,
  so one accept brings the kind back when only a few noes silenced it;
- a kind the model keeps silent is still shown once every :data:`EXPLORE_EVERY` suppressed
  opportunities, for users who never ask. Blind exploration cannot be both rare and quick: to
  notice a change within 10 opportunities it would have to show an unwanted kind at least once in
  every 10, twice in every 20 (docs/learning.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from proactive_ls.learning.context import proposal_context
from proactive_ls.learning.model import KindTally, logit
from proactive_ls.learning.store import DEFAULT_PRIOR, LEARNED, LearningStore
from proactive_ls.proposals import Verdict

#: A kind the model silences is shown again after this many suppressed opportunities.
EXPLORE_EVERY = 20
#: The prior of a proposal a judge without a score turned down.
FILTERED_PRIOR = 0.2


@dataclass(frozen=True)
class Decision:
    show: bool
    probability: float
    prior: float
    reason: str
    explored: bool = False
    asked: bool = False


class Learner:
    """Decides with the user's model, and keeps it in step with the feedback log."""

    def __init__(self, store: LearningStore, workspace_roots: Sequence[str] = ()) -> None:
        self.store = store
        self.workspace_roots = list(workspace_roots)

    def context(self, key: str, task: str, anchor_uri: str | None) -> dict[str, str]:
        return proposal_context(key, task, anchor_uri, self.workspace_roots)

    def decide(self, context: dict[str, str], verdict: Verdict | None, bar: float, asked: bool = False) -> Decision:
        """Show or keep back; ``asked``: the user asked for a proposal, so what they usually turn down
        is shown (saying so) rather than kept back."""
        self.store.sync(reset=False)  # one stat when nothing was answered (a reset within a second)
        model = self.store.model
        if verdict is None:
            prior, prior_shows = DEFAULT_PRIOR, True
        elif verdict.score is not None:
            prior, prior_shows = verdict.score, verdict.accept
        else:
            prior, prior_shows = (DEFAULT_PRIOR if verdict.accept else FILTERED_PRIOR), verdict.accept
        p = model.probability(context, logit(prior))
        kind = context.get("kind", "task:other")
        tally = model.kinds.get(kind, KindTally())
        answers = f"{tally.accepted} accepted, {tally.rejected} rejected, {tally.ignored} ignored"
        if p >= bar:
            why = "" if prior_shows else f" (the judge alone: {prior:.2f})"
            return Decision(True, p, prior, f"{LEARNED} {kind} {p:.2f} >= {bar:.2f}{why}; {answers}")
        if not prior_shows:  # the judge's verdict stands (and is not counted as a suppression)
            return Decision(False, p, prior, "")
        if asked:
            return Decision(
                True,
                p,
                prior,
                f"{LEARNED} you asked; you usually turn down {kind} ({p:.2f} < {bar:.2f}); {answers}",
                asked=True,
            )
        if tally.suppressed_since_shown + 1 >= EXPLORE_EVERY:
            return Decision(
                True, p, prior, f"{LEARNED} re-exploring {kind} ({p:.2f} < {bar:.2f}); {answers}", explored=True
            )
        return Decision(False, p, prior, f"{LEARNED} you did not want {kind} ({p:.2f} < {bar:.2f}); {answers}")

    def verdict(self, decision: Decision, verdict: Verdict | None, judge: str) -> Verdict | None:
        """The verdict the proposal carries: the judge's own when the model agrees with it, else one with
        the judge's score (the prior the log rebuilds from), the learned decision and its reason."""
        if decision.show == (verdict.accept if verdict is not None else True) and not (
            decision.explored or decision.asked
        ):
            return verdict
        score = verdict.score if verdict is not None else None
        reasons = [r for r in (verdict.reason if verdict is not None else "", decision.reason) if r]
        reason = "; ".join(reversed(reasons)) if not decision.show and decision.reason else "; ".join(reasons)
        return Verdict(accept=decision.show, score=score, reason=reason, judge=verdict.judge if verdict else judge)

    def recorded(self) -> None:
        """An outcome (or a suppression) was written to the log: take it in at once."""
        self.store.sync()

    def status(self) -> dict[str, Any]:
        self.store.sync()  # what every server of the user has learned, up to now
        model = self.store.model
        kinds = {}
        for kind, tally in sorted(model.kinds.items()):
            p = model.probability({"kind": kind}, logit(DEFAULT_PRIOR))
            kinds[kind] = {
                "accepted": tally.accepted,
                "rejected": tally.rejected,
                "ignored": tally.ignored,
                "suppressedSinceShown": tally.suppressed_since_shown,
                "acceptance": round(p, 3),
            }
        return {
            "state": str(self.store.path),
            "answers": model.answers,
            "kinds": kinds,
            "rebuiltBecause": self.store.rebuilt,
        }
