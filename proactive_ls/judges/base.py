"""The one interface every judge implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from proactive_ls.proposals import Suggestion, Verdict
from proactive_ls.proposers.base import ProposalContext


@runtime_checkable
class Judge(Protocol):
    name: str

    async def judge(self, ctx: ProposalContext, suggestion: Suggestion) -> Verdict:
        """Would the user accept this suggestion now?"""
        ...

    async def aclose(self) -> None: ...

    # Optional: `note_outcome(outcome: str, at: float) -> None` is called with every outcome, for
    # judges whose features include the user's recent answers (see judges/gate/judge.py).


class AcceptAll:
    """The judge used when none is configured: every suggestion is shown."""

    name = "none"

    async def judge(self, ctx: ProposalContext, suggestion: Suggestion) -> Verdict:
        return Verdict(accept=True, judge=self.name)

    async def aclose(self) -> None:
        return None
