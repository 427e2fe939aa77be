"""The control file applied to one session: is it paused, is this proposal muted, and noticing when
another window changed either.

:class:`SessionControl` is the engine's :class:`~proactive_ls.engine.policy.Control`; its checks are
one ``stat`` of the control file (re-read only when another process changed it).
:class:`ControlSource` is a timed source of the session's stepper: it looks at the file every
``CHECK_S`` and, when it changed, withdraws the pending proposals a new pause or mute covers, so
every window's view of what is pending follows at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from proactive_ls.control.kinds import ProposalKind, kind_of_record
from proactive_ls.control.store import ControlState, ControlStore
from proactive_ls.events import EventBase
from proactive_ls.proposals import Proposal
from proactive_ls.sensing.paths import uri_to_path

CHECK_S = 1.0


class SessionControl:
    def __init__(self, store: ControlStore, roots: list[Path]) -> None:
        self.store = store
        self.roots = [r.absolute() for r in roots]

    def state(self) -> ControlState:
        return self.store.state()

    def blocked(self, now: float) -> str | None:
        return "paused" if self.store.state().pause_active(now) else None

    def relative(self, uri: str | None) -> PurePosixPath | None:
        """The document's path relative to its workspace root (or absolute), for mute globs."""
        path = uri_to_path(uri) if uri else None
        if path is None:
            return None
        for root in self.roots:
            try:
                return PurePosixPath(path.absolute().relative_to(root).as_posix())
            except ValueError:
                continue
        return PurePosixPath(path.as_posix())

    def muted(self, kind: str, language: str | None, uri: str | None) -> str | None:
        state = self.store.state()
        if not state.mutes:
            return None
        k = kind_of_record(kind, "", "", "local")
        path = self.relative(uri)
        for mute in state.mutes:
            if mute.covers(k, language, path):
                return mute.describe()
        return None

    def covers(self, proposal: Proposal, now: float) -> str | None:
        """Why a pending proposal should be withdrawn now (paused or muted), or None."""
        return self.blocked(now) or self.muted(proposal.kind, proposal.language, _anchor_uri(proposal))


def _anchor_uri(proposal: Proposal) -> str | None:
    return proposal.anchor.uri if proposal.anchor is not None else None


Withdraw = Callable[[Callable[[Proposal], bool], float, str], Awaitable[list[Proposal]]]


class ControlSource:
    """Follows the control file other windows write; produces no events."""

    def __init__(self, control: SessionControl, withdraw: Withdraw) -> None:
        self.control = control
        self.withdraw = withdraw
        self.next_at = 0.0

    def next_deadline(self) -> float | None:
        return self.next_at

    async def flush_due(self, now: float) -> list[EventBase]:
        self.next_at = now + CHECK_S
        if self.control.store.changed():
            await self.follow(now)
        return []

    async def follow(self, now: float) -> list[Proposal]:
        """Withdraw the pending proposals the current pause or mutes cover."""
        reasons: dict[str, str] = {}

        def which(p: Proposal) -> bool:
            why = self.control.covers(p, now)
            if why is not None:
                reasons[p.id] = why
            return why is not None

        return await self.withdraw(which, now, "withdrawn: paused or muted")


def kinds_text() -> str:
    return ", ".join(k.value for k in ProposalKind)


__all__ = ["CHECK_S", "ControlSource", "SessionControl", "kinds_text"]
