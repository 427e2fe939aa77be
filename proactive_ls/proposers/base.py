"""The one interface every proposer implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from proactive_ls.events import EventBase, render_history
from proactive_ls.proposals import Suggestion


@dataclass(frozen=True)
class ProposalContext:
    """What a proposer may look at: the (redacted) history and which of it is new since the last ask."""

    history: Sequence[EventBase]
    new_events: Sequence[EventBase]
    now: float
    workspace_roots: list[str] = field(default_factory=list)

    def observations(self) -> list[dict[str, str]]:
        return render_history(list(self.history))


@runtime_checkable
class Proposer(Protocol):
    name: str

    async def propose(self, ctx: ProposalContext) -> Suggestion | None:
        """Return one suggestion, or None to stay silent."""
        ...

    async def aclose(self) -> None: ...
