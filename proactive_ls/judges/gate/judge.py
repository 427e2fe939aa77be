"""The gate as a judge: a suggestion passes when its score reaches the bar of the user's eagerness.

Separate from the model because this is policy, not learning: the bars, an explicit override,
and the rejections the engine reports back, which the next scores take into account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proactive_ls.judges.gate.history import StepMemo
from proactive_ls.judges.gate.model import Gate
from proactive_ls.judges.gate.source import GateModelSource, describe_gate
from proactive_ls.proposals import Suggestion, Verdict

if TYPE_CHECKING:
    from proactive_ls.proposers.base import ProposalContext

#: The bar a score must reach for each eagerness. The packaged model is calibrated on
#: judgements where 38% of proposals-or-silences were accepted; "normal" is the bar chosen on the
#: development traces (see docs/evaluation.md, "The gate"), "quiet" asks for a likely accept,
#: "eager" lets through anything not clearly unwanted.
EAGERNESS_THRESHOLDS: dict[str, float] = {"quiet": 0.50, "normal": 0.35, "eager": 0.25}


def threshold_for(eagerness: str, override: float | None) -> float:
    """The score a suggestion needs: the override if set, else the bar for this eagerness."""
    if override is not None:
        if not 0.0 <= override <= 1.0:
            raise ValueError(f"gate threshold must be within [0, 1], not {override}")
        return float(override)
    try:
        return EAGERNESS_THRESHOLDS[eagerness]
    except KeyError:
        raise ValueError(
            f"unknown eagerness {eagerness!r}; expected one of {', '.join(EAGERNESS_THRESHOLDS)}"
        ) from None


class GateJudge:
    """A judge that accepts a suggestion when the gate's score reaches the eagerness bar.

    It remembers the rejections it is told about (:meth:`note_outcome`) for the
    ``rejections`` feature; the packaged model gives that feature no weight (ProactiveBench has
    no such signal), a model retrained on the user's feedback log can.
    """

    name = "gate"
    rejection_window_s = 3600.0

    def __init__(
        self,
        gate: Gate | None = None,
        eagerness: str = "normal",
        threshold: float | None = None,
        source: GateModelSource | None = None,
    ) -> None:
        self.source = source  # when given, the model follows its file (the gateModel setting, train-gate)
        self.gate = gate if gate is not None else (source.current() if source is not None else Gate.load())
        self.eagerness = eagerness
        self.threshold = threshold_for(eagerness, threshold)
        self._bar_label = "override" if threshold is not None else eagerness
        self._rejections: list[float] = []
        self._steps = StepMemo()

    def note_outcome(self, outcome: str, at: float) -> None:
        """Tell the judge what became of a proposal (only rejections are kept, for an hour)."""
        if outcome == "rejected":
            self._rejections.append(at)

    def recent_rejections(self, now: float) -> int:
        self._rejections = [t for t in self._rejections if now - t <= self.rejection_window_s]
        return len(self._rejections)

    def model(self) -> Gate:
        """The model in use now (reloaded first if its file changed)."""
        if self.source is not None:
            self.gate = self.source.current()
        return self.gate

    def model_status(self) -> dict[str, object]:
        """What proactive.status says about the model in use."""
        if self.source is not None:
            return self.source.describe()
        return describe_gate(self.gate, None, "packaged")

    def score(self, ctx: ProposalContext, task: str | None) -> float:
        # Only the latest steps are scored, each read once per event (not rendered again: the
        # time format and the sentence's words cost more than the score itself).
        return self.model().score_history(
            self._steps.history(ctx.history), task, recent_rejections=self.recent_rejections(ctx.now)
        )

    async def judge(self, ctx: ProposalContext, suggestion: Suggestion) -> Verdict:
        s = self.score(ctx, suggestion.task)
        accept = s >= self.threshold
        sign = ">=" if accept else "<"
        return Verdict(
            accept=accept,
            score=s,
            reason=f"gate score {s:.2f} {sign} {self.threshold:.2f} ({self._bar_label})",
            judge=self.name,
        )

    async def aclose(self) -> None:
        return None
