"""The engine: events in, proposals out, outcomes written. It knows nothing about LSP.

Time is always passed in, so the server drives it with the wall clock and replay with the
recorded one. The proposer is asked once the user has been quiet for `quiet_period_ms` after
new events; what it suggests goes through the judge and the policy before it is shown.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from proactive_ls.config import Settings
from proactive_ls.control.kinds import kind_of, language_of_uri
from proactive_ls.engine.history import History
from proactive_ls.engine.policy import Control, ProposalPolicy, switched_off
from proactive_ls.events import EventBase, render_history
from proactive_ls.feedback.log import FeedbackLog, FeedbackRecord, Outcome
from proactive_ls.judges.base import AcceptAll, Judge
from proactive_ls.judges.gate.judge import threshold_for
from proactive_ls.learning.context import proposal_context
from proactive_ls.proposals import ApplyEdit, OpenLocation, Proposal, Suggestion, Verdict
from proactive_ls.proposers.base import ProposalContext, Proposer

if TYPE_CHECKING:
    from proactive_ls.learning.decider import Learner

log = logging.getLogger(__name__)

Redact = Callable[[EventBase], EventBase | None]
#: Called with every outcome, whatever decided it: (proposal, outcome, seconds late or None).
OnResolved = Callable[[Proposal, Outcome, float | None], None]
#: Wraps a slow step (a model request) so the editor can show that something runs.
Progress = Callable[[str], AbstractAsyncContextManager[None]]
LanguageOf = Callable[[str | None], str | None]
#: How many proposals that went unanswered (ignored, snoozed) can still be answered late.
LATE_ANSWERS_KEPT = 500


def _places(suggestion: Suggestion) -> list[str]:
    """The files a suggestion points at: its anchor and where accepting it goes or edits."""
    places = [suggestion.anchor.uri] if suggestion.anchor else []
    op = suggestion.operation
    if isinstance(op, OpenLocation):
        places.append(op.uri)
    elif isinstance(op, ApplyEdit):
        places.extend(str(uri) for uri in (op.edit.get("changes") or {}))
        for change in op.edit.get("documentChanges") or []:
            if isinstance(change, dict):
                doc = change.get("textDocument")
                places.extend(
                    str(u) for u in (doc.get("uri") if isinstance(doc, dict) else None, change.get("uri")) if u
                )
    return places


class UnknownProposal(KeyError):
    """The proposal id is not pending (never made, or already answered)."""


@dataclass
class TickResult:
    proposals: list[Proposal] = field(default_factory=list)
    resolved: list[tuple[Proposal, Outcome]] = field(default_factory=list)
    filtered: list[Proposal] = field(default_factory=list)


@dataclass
class Counts:
    proposed: int = 0
    accepted: int = 0
    rejected: int = 0
    ignored: int = 0
    snoozed: int = 0
    filtered: int = 0
    muted: int = 0
    late: int = 0
    events: int = 0
    triggers: int = 0
    dropped: int = 0  # events or questions dropped by a contained failure


class Engine:
    def __init__(
        self,
        settings: Settings,
        proposer: Proposer,
        judge: Judge | None = None,
        feedback: FeedbackLog | None = None,
        redact: Redact | None = None,
        session_id: str | None = None,
        workspace_roots: list[str] | None = None,
        control: Control | None = None,
        language_of: LanguageOf | None = None,
        inside: Callable[[str], bool] | None = None,
        learner: Learner | None = None,
    ) -> None:
        self.settings = settings
        self.inside = inside  # whether a file or URI is inside the workspace: proposals never point outside
        self.learner = learner  # the per-user model (learning/): None when learning is off
        self.proposer = proposer
        self.judge: Judge = judge or AcceptAll()
        self.feedback = feedback
        self.redact = redact
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.workspace_roots = workspace_roots or []
        self.history = History(settings.history_limit)
        self.policy = ProposalPolicy(settings)
        self.counts = Counts()
        self._pending: dict[str, Proposal] = {}
        self._trigger_at: float | None = None
        self._inflight: asyncio.Task[Any] | None = None
        self.last_decision = "none yet"
        self._failures_logged: set[tuple[str, str]] = set()
        self.control = control
        self.language_of: LanguageOf = language_of or language_of_uri
        self.on_resolved: OnResolved | None = None
        self.progress: Progress | None = None
        # Proposals recorded as ignored or snoozed, by id, with when: an answer may still come.
        self._unanswered: OrderedDict[str, tuple[Proposal, float]] = OrderedDict()

    # -- configuration -------------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        self.settings = settings
        self.policy.settings = settings
        self.history.resize(settings.history_limit)

    # -- events --------------------------------------------------------------------------------
    def observe(self, event: EventBase, now: float) -> None:
        """Add an event to the history (redacted first) and restart the quiet period."""
        try:
            if self.redact is not None:
                redacted = self.redact(event)
                if redacted is None:
                    return
                event = redacted
            render_history([event])  # an event that cannot be shown to a proposer must not poison the history
        except Exception as exc:
            self._failed("an event could not be used and was dropped", exc)
            return
        self.history.add(event)
        self.counts.events += 1
        self._trigger_at = now + self.settings.quiet_period_ms / 1000
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()  # newer events make the question stale

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has work to do next (a quiet period ends, a proposal goes unanswered)."""
        times = [p.created_at + self.settings.ignore_after_s for p in self._pending.values()]
        if self._trigger_at is not None:
            times.append(self._trigger_at)
        return min(times, default=None)

    async def tick(self, now: float) -> TickResult:
        result = TickResult()
        for proposal in list(self._pending.values()):
            if now >= proposal.created_at + self.settings.ignore_after_s and await self._settle(
                proposal, "ignored", now
            ):
                result.resolved.append((proposal, "ignored"))
        if self._trigger_at is not None and now >= self._trigger_at:
            self._trigger_at = None
            if self.settings.mode == "manual":
                self.last_decision = "manual mode: waiting for proactive.proposeNow"
                return result
            try:
                made = await self._ask(now, result)
            except Exception as exc:  # contained: this question is dropped, the next events ask again
                self._failed("asking for a proposal failed", exc)
                self.last_decision = f"failed: {exc.__class__.__name__}"
                made = None
            if made is not None:
                result.proposals.append(made)
        return result

    def _blocked(self, now: float) -> str | None:
        """Why the proposer may not be asked now; a pacing block re-arms the trigger for its end
        (a switch-off and a block with no end, `maxPerHour: 0`, do not)."""
        off = switched_off(self.settings, self.control, now)
        if off is not None:
            return off
        blocked = self.policy.blocked(now)
        if blocked is not None:
            lifts = self.policy.lifts_at(now)
            if lifts is not None and (self._trigger_at is None or self._trigger_at > lifts):
                self._trigger_at = max(lifts, now)
        return blocked

    def _failed(self, what: str, exc: Exception) -> None:
        """Log a contained failure once per kind (with its traceback), then only count it."""
        self.counts.dropped += 1
        kind = (what, exc.__class__.__name__)
        if kind in self._failures_logged:
            log.debug("%s: %s", what, exc)
            return
        self._failures_logged.add(kind)
        log.error("%s (further ones are only counted): %s", what, exc, exc_info=exc)

    async def propose_now(self, now: float) -> TickResult:
        """The user asked for a proposal (``proactive.proposeNow``): ask at once, over the whole history.

        The pacing rules (interval, cap, cooldown) and a pause do not apply to a request; mutes do.
        """
        result = TickResult()
        self._trigger_at = None
        made = await self._ask(now, result, forced=True)
        if made is not None:
            result.proposals.append(made)
        return result

    async def _ask(self, now: float, result: TickResult, forced: bool = False) -> Proposal | None:
        if not forced and self.history.has_unseen() and (blocked := self._blocked(now)) is not None:
            # No trigger is lost: under a pacing rule the new events stay unseen and are asked
            # about when it lifts. What came while the user switched proposals off (a pause,
            # `enabled: false`) is dropped instead: it is not brought up after a resume.
            log.debug("not asking the proposer: %s", blocked)
            self.counts.triggers += 1  # a decision was taken (blocked), as status readers expect
            self.last_decision = f"blocked: {blocked}"
            if self._trigger_at is None:
                self.history.take_unseen()
            return None
        new_events = self.history.take_unseen()
        if not new_events and forced:
            new_events = self.history.events()
        if not new_events:
            if forced:
                self.last_decision = "silent: no events yet"
            return None
        self.counts.triggers += 1
        ctx = ProposalContext(self.history.events(), new_events, now, self.workspace_roots)
        question: Awaitable[Suggestion | None]
        if self.proposer.name == "local":
            # The embedded rules answer without waiting: no event can arrive meanwhile, so there is
            # nothing to cancel, and no task (two turns of the loop) is made for each question.
            question = self._propose(ctx)
        else:
            question = self._inflight = asyncio.ensure_future(self._propose(ctx))
        try:
            suggestion = await question
        except asyncio.CancelledError:
            if asyncio.current_task() is not None and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise
            log.debug("proposal request went stale and was cancelled")
            self.history.restore(new_events)  # the next question (the newer events') covers these too
            self.last_decision = "stale: newer events arrived"
            return None
        except Exception:
            log.exception("the proposer %s failed", self.proposer.name)
            self.last_decision = "proposer failed"
            return None
        finally:
            self._inflight = None
        if suggestion is None:
            self.last_decision = "silent"
            return None
        return await self._admit(suggestion, ctx, now, result, asked=forced)

    async def _propose(self, ctx: ProposalContext) -> Suggestion | None:
        """Ask the proposer; a model's answer (which takes seconds) runs inside the editor's progress."""
        if self.progress is None or self.proposer.name == "local":
            return await self.proposer.propose(ctx)
        async with self.progress(f"asking {self.proposer.name}"):
            return await self.proposer.propose(ctx)

    async def _admit(
        self, suggestion: Suggestion, ctx: ProposalContext, now: float, result: TickResult, asked: bool = False
    ) -> Proposal | None:
        key = suggestion.identity()
        if self.inside is not None and not all(self.inside(place) for place in _places(suggestion)):
            log.info("not proposing a task that points outside the workspace: %s", suggestion.task)
            self.last_decision = "suppressed: points outside the workspace"
            return None
        kind = kind_of(key, suggestion.operation.kind, self.proposer.name).value
        uri = suggestion.anchor.uri if suggestion.anchor is not None else None
        language = self.language_of(uri)
        # The user's explicit mutes are a step of their own, before any (learned) decision.
        if self.control is not None and (why := self.control.muted(kind, language, uri)) is not None:
            self.counts.muted += 1
            self.last_decision = f"muted: {why}"
            return None
        if self.policy.rejected_recently(key, now):
            log.debug("not re-proposing a task the user rejected recently: %s", suggestion.task)
            self.last_decision = "suppressed: rejected recently"
            return None
        if any(p.key == key for p in self._pending.values()):
            self.last_decision = "suppressed: already pending"
            return None
        try:
            verdict = await self.judge.judge(ctx, suggestion)
        except Exception:
            log.exception("the judge %s failed; showing the proposal", self.judge.name)
            verdict = None
        verdict = self._learned(suggestion, verdict, asked)
        proposal = Proposal(
            id=uuid.uuid4().hex[:12],
            task=suggestion.task,
            message=suggestion.message,
            purpose=suggestion.purpose,
            thoughts=suggestion.thoughts,
            anchor=suggestion.anchor,
            operation=suggestion.operation,
            key=key,
            proposer=self.proposer.name,
            model=suggestion.model,
            created_at=now,
            observations=render_history(ctx.history),
            verdict=verdict,
            kind=kind,
            language=language,
        )
        if verdict is not None and not verdict.accept:
            self.counts.filtered += 1
            self.last_decision = f"filtered: {verdict.reason}"
            await self._write(proposal, "filtered", now, detail=verdict.reason)
            result.filtered.append(proposal)
            return None
        self._pending[proposal.id] = proposal
        self.policy.shown(now)
        self.counts.proposed += 1
        self.last_decision = f"proposed {proposal.id}"
        return proposal

    def _learned(self, suggestion: Suggestion, verdict: Verdict | None, asked: bool = False) -> Verdict | None:
        """The per-user model's step of the decision (a separate step: explicit mutes come before it).

        ``asked``: the user asked for a proposal (proposeNow); what they learnt to hold back is shown.
        """
        if self.learner is None:
            return verdict
        uri = suggestion.anchor.uri if suggestion.anchor else None
        context = self.learner.context(suggestion.identity(), suggestion.task, uri)
        threshold = getattr(self.judge, "threshold", None)
        bar = (
            threshold
            if isinstance(threshold, float)
            else threshold_for(self.settings.eagerness, self.settings.gate_threshold)
        )
        decision = self.learner.decide(context, verdict, bar, asked=asked)
        return self.learner.verdict(decision, verdict, self.judge.name)

    # -- outcomes ------------------------------------------------------------------------------
    def pending(self) -> list[Proposal]:
        return list(self._pending.values())

    def unanswered(self, proposal_id: str) -> tuple[Proposal, float] | None:
        """A proposal recorded as ignored or snoozed that may still be answered late, and when."""
        return self._unanswered.get(proposal_id)

    async def answer_late(self, proposal_id: str, outcome: Outcome, now: float, detail: str | None = None) -> Proposal:
        """Record an answer to a proposal already recorded as ignored or snoozed (a click in an old
        notification): a record of its own, with how late it came. Raises UnknownProposal."""
        proposal, late_by = self.claim_late(proposal_id, outcome, now)
        await self.record(proposal, outcome, now, detail, late_by_s=late_by)
        return proposal

    def claim_late(self, proposal_id: str, outcome: Outcome, now: float) -> tuple[Proposal, float]:
        entry = self._unanswered.pop(proposal_id, None)
        if entry is None:
            raise UnknownProposal(proposal_id)
        proposal, settled_at = entry
        late_by = max(0.0, now - settled_at)
        self.counts.late += 1
        self._count(proposal, outcome, now)
        if outcome == "rejected":
            self.policy.rejected(proposal.key, now)
        return proposal, late_by

    def get(self, proposal_id: str) -> Proposal:
        try:
            return self._pending[proposal_id]
        except KeyError:
            raise UnknownProposal(proposal_id) from None

    async def resolve(self, proposal_id: str, outcome: Outcome, now: float, detail: str | None = None) -> Proposal:
        """Record the user's answer; the record is durable when this returns."""
        proposal = self.claim(proposal_id, outcome, now)
        await self.record(proposal, outcome, now, detail)
        return proposal

    def claim(self, proposal_id: str, outcome: Outcome, now: float) -> Proposal:
        """Take the answer to a pending proposal (it is no longer pending); :meth:`record` writes it.

        Split from :meth:`resolve` for an accept, whose record waits for the carry-out so it can
        say why the carry-out failed.
        """
        proposal = self.get(proposal_id)
        self._count(proposal, outcome, now)
        if outcome == "rejected":
            self.policy.rejected(proposal.key, now)
        return proposal

    async def record(
        self,
        proposal: Proposal,
        outcome: Outcome,
        now: float,
        detail: str | None = None,
        late_by_s: float | None = None,
    ) -> None:
        """Write the outcome to the feedback log (durable when this returns), then announce it."""
        await self._write(proposal, outcome, now, detail, late_by_s)
        self._announce(proposal, outcome, late_by_s)

    async def snooze(self, minutes: float, now: float) -> list[Proposal]:
        """Silence proposals for a while; the pending ones are recorded as snoozed."""
        self.policy.snooze(now + minutes * 60)
        return await self.withdraw(lambda p: True, now, f"snoozed for {minutes:g} minutes")

    def resume(self, now: float | None = None) -> None:
        """End a snooze (and a pause); events a snooze held back are asked about at once (at `now`)."""
        self.policy.snooze(0.0)
        if now is not None and self.history.has_unseen():
            self._trigger_at = now if self._trigger_at is None else min(self._trigger_at, now)

    async def withdraw(self, which: Callable[[Proposal], bool], now: float, detail: str) -> list[Proposal]:
        """Record the pending proposals `which` selects as snoozed (a pause, a mute): they may still
        be answered late."""
        return [p for p in list(self._pending.values()) if which(p) and await self._settle(p, "snoozed", now, detail)]

    async def _settle(self, proposal: Proposal, outcome: Outcome, now: float, detail: str | None = None) -> bool:
        """Record an outcome the engine decides; False when the user answered first (while an earlier
        outcome was being written), whose answer stands."""
        if proposal.id not in self._pending:
            return False
        self._count(proposal, outcome, now)
        self._unanswered[proposal.id] = (proposal, now)
        while len(self._unanswered) > LATE_ANSWERS_KEPT:
            self._unanswered.popitem(last=False)
        await self._write(proposal, outcome, now, detail)
        self._announce(proposal, outcome)
        return True

    def _announce(self, proposal: Proposal, outcome: Outcome, late_by: float | None = None) -> None:
        """Tell whoever listens (the editor) once the outcome is on disk."""
        if self.on_resolved is not None:
            try:
                self.on_resolved(proposal, outcome, late_by)
            except Exception:
                log.exception("announcing the outcome of %s failed", proposal.id)

    def _count(self, proposal: Proposal, outcome: Outcome, now: float) -> None:
        self._pending.pop(proposal.id, None)
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        note = getattr(self.judge, "note_outcome", None)
        if note is not None:  # judges that learn from the user's recent answers (the gate)
            note(outcome, now)

    async def _write(
        self,
        proposal: Proposal,
        outcome: Outcome,
        now: float,
        detail: str | None = None,
        late_by_s: float | None = None,
    ) -> None:
        if self.feedback is None:
            return
        uri = proposal.anchor.uri if proposal.anchor else None
        context = proposal_context(proposal.key, proposal.task, uri, self.workspace_roots)
        record = FeedbackRecord.of(proposal, outcome, now, self.session_id, detail, late_by_s, context)
        await self.feedback.append(record)
        if self.learner is not None:
            self.learner.recorded()  # every answer updates the user's model at once

    def status(self, now: float) -> dict[str, Any]:
        c = self.counts
        return {
            "pending": len(self._pending),
            "proposed": c.proposed,
            "accepted": c.accepted,
            "rejected": c.rejected,
            "ignored": c.ignored,
            "snoozed": c.snoozed,
            "filtered": c.filtered,
            "muted": c.muted,
            "late": c.late,
            "events": c.events,
            "triggers": c.triggers,
            "dropped": c.dropped,
            "lastDecision": self.last_decision,
            "snoozedUntil": self.policy.snoozed_until(now),
            "proposer": self.proposer.name,
            "judge": self.judge.name,
            "gateModel": self._gate_model_status(),
            "learning": self.learner.status() if self.learner is not None else None,
            "feedbackLog": str(self.feedback.path) if self.feedback else None,
            "sessionId": self.session_id,
        }

    def _gate_model_status(self) -> dict[str, Any] | None:
        """The gate model in use (path, when trained, on how many records, held-out figures), if a gate judges."""
        judge: Any = self.judge
        for candidate in (judge, getattr(judge, "fallback", None)):
            describe = getattr(candidate, "model_status", None)
            if describe is not None:
                status: dict[str, Any] = describe()
                return status
        return None

    async def aclose(self) -> None:
        if self._inflight is not None:
            self._inflight.cancel()
        await self.proposer.aclose()
        await self.judge.aclose()
