"""When a proposal may be shown: the rules that keep a proactive assistant from nagging.

Pure bookkeeping over times passed in by the caller, so replay can run it on recorded time.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from proactive_ls.config import Settings


class Control(Protocol):
    """What the user switched off, kept outside the engine (the session's control file).

    Checked before anything else decides: an explicit pause or mute always wins over the
    policy's and the judge's (learned) decisions.
    """

    def blocked(self, now: float) -> str | None:
        """Why nothing may be proposed now (paused), or None."""
        ...

    def muted(self, kind: str, language: str | None, uri: str | None) -> str | None:
        """Why proposals of this kind, language and document are muted, or None."""
        ...


def switched_off(settings: Settings, control: Control | None, now: float) -> str | None:
    """The user's own off switches, in order: the `enabled` setting, then a pause."""
    if not settings.enabled:
        return "disabled (enabled: false)"
    if control is not None:
        return control.blocked(now)
    return None


@dataclass
class PolicyState:
    shown_at: deque[float] = field(default_factory=deque)
    last_rejection_at: float | None = None
    rejected_keys: dict[str, float] = field(default_factory=dict)
    snoozed_until: float | None = None


class ProposalPolicy:
    """Minimum interval, cap per hour, cooldown after a rejection, rejected tasks remembered, snooze."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state = PolicyState()

    def blocked(self, now: float) -> str | None:
        """Why no proposal may be shown now, or None."""
        s, st = self.settings, self.state
        if st.snoozed_until is not None:
            if now < st.snoozed_until:
                return "snoozed"
            st.snoozed_until = None
        # Each rule ends at the very float :meth:`lifts_at` names (``now < start + span``, not
        # ``now - start < span``): a trigger re-armed for that time must find the block lifted, or a
        # virtual clock would tick at it forever.
        if st.last_rejection_at is not None and now < st.last_rejection_at + s.reject_cooldown_s:
            return "cooling down after a rejection"
        if st.shown_at and now < st.shown_at[-1] + s.min_interval_s:
            return "too soon after the last proposal"
        while st.shown_at and now >= st.shown_at[0] + 3600:
            st.shown_at.popleft()
        if len(st.shown_at) >= s.max_per_hour:
            return f"{s.max_per_hour} proposals in the last hour"
        return None

    def lifts_at(self, now: float) -> float | None:
        """When the block :meth:`blocked` reports now ends (the latest of the rules in force), or None
        when nothing blocks. A blocked trigger is kept until then instead of being dropped."""
        s, st = self.settings, self.state
        ends = []
        if st.snoozed_until is not None and now < st.snoozed_until:
            ends.append(st.snoozed_until)
        if st.last_rejection_at is not None and now < st.last_rejection_at + s.reject_cooldown_s:
            ends.append(st.last_rejection_at + s.reject_cooldown_s)
        if st.shown_at and now < st.shown_at[-1] + s.min_interval_s:
            ends.append(st.shown_at[-1] + s.min_interval_s)
        recent = [t for t in st.shown_at if now < t + 3600]
        if s.max_per_hour > 0 and len(recent) >= s.max_per_hour:
            ends.append(recent[len(recent) - s.max_per_hour] + 3600)
        return max(ends, default=None)

    def rejected_recently(self, key: str, now: float) -> bool:
        at = self.state.rejected_keys.get(key)
        if at is None:
            return False
        if now - at >= self.settings.reject_memory_s:
            del self.state.rejected_keys[key]
            return False
        return True

    def shown(self, now: float) -> None:
        self.state.shown_at.append(now)

    def rejected(self, key: str, now: float) -> None:
        self.state.last_rejection_at = now
        self.state.rejected_keys[key] = now

    def snooze(self, until: float) -> None:
        self.state.snoozed_until = until

    def snoozed_until(self, now: float) -> float | None:
        until = self.state.snoozed_until
        return until if until is not None and until > now else None
