"""One editor session: settings, sensing, engine and feedback log, assembled, with its use cases. No LSP here.

The server builds a Session when the client initializes, turns each message into an input and
calls :meth:`Session.apply`; the user's answers arrive as :meth:`accept`, :meth:`reject`,
:meth:`snooze`. Replay builds the same Session on a virtual clock and applies recorded inputs.
What accepting shows or changes in the editor goes through an :class:`Actuator` the server provides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, assert_never

from proactive_ls import __version__
from proactive_ls.config import Settings
from proactive_ls.control.kinds import ProposalKind, language_of_uri
from proactive_ls.control.rules import ControlSource, SessionControl
from proactive_ls.control.store import ControlStore, Mute
from proactive_ls.edit_preview import edit_diff, edited_uris
from proactive_ls.engine import Engine, TickResult, UnknownProposal
from proactive_ls.engine.background import BackgroundSource
from proactive_ls.engine.core import OnResolved, Progress
from proactive_ls.engine.driver import Driver, OnTick, Stepper, VirtualClock, WallClock
from proactive_ls.events import EventAdapter, EventBase, TerminalCommand
from proactive_ls.feedback.log import FeedbackLog
from proactive_ls.inputs import (
    ChangeInput,
    CloseInput,
    DiagnosticsInput,
    EventInput,
    Input,
    OpenInput,
    SaveInput,
    TerminalInput,
    check_event_time,
)
from proactive_ls.judges.base import AcceptAll, Judge
from proactive_ls.proposals import ApplyEdit, ModelTask, OpenLocation, Proposal, ShowMarkdown
from proactive_ls.proposers.base import Proposer
from proactive_ls.proposers.local import LocalProposer
from proactive_ls.sensing.diagnostics import DiagnosticsState
from proactive_ls.sensing.documents import DocumentTracker
from proactive_ls.sensing.mirror import Encoding
from proactive_ls.sensing.paths import display_path
from proactive_ls.sensing.redaction import Redactor
from proactive_ls.sensing.redaction.gitignore import GitignoreCache
from proactive_ls.sensing.terminal import parse_failure, strip_ansi

if TYPE_CHECKING:
    from proactive_ls.learning.decider import Learner

log = logging.getLogger(__name__)

Notify = Callable[[str], None]
OUTPUT_TAIL_CHARS = 4000


@dataclass(frozen=True)
class Declined:
    """The user was shown the operation in full and did not confirm it; `how`, in a few words."""

    how: str


class Actuator(Protocol):
    """What the editor does when the user accepts: each returns whether the editor did it.

    An edit is shown in full and applied only once the user confirms it (else :class:`Declined`).
    """

    async def open_location(self, op: OpenLocation) -> bool: ...

    async def show_markdown(self, proposal: Proposal, op: ShowMarkdown) -> bool: ...

    async def apply_edit(self, proposal: Proposal, op: ApplyEdit) -> bool | Declined: ...


def build_proposer(settings: Settings, notify: Notify | None = None) -> Proposer:
    local = LocalProposer()
    if settings.backend == "local":
        return local
    from proactive_ls.proposers.vllm import VllmProposer

    if settings.model is None:
        raise ValueError('backend "vllm" needs a "model" setting with at least a "name"')
    return VllmProposer(settings.model, fallback=local, notify=notify)


def build_judge(settings: Settings, notify: Notify | None = None) -> Judge:
    judge = settings.judge
    if judge == "auto":
        # The embedded rules speak only on concrete evidence; a model's proposals need the gate.
        judge = "gate" if settings.backend == "vllm" else "none"
    if judge == "none":
        return AcceptAll()
    from proactive_ls.judges.gate import GateJudge
    from proactive_ls.judges.gate.source import GateModelSource

    source = GateModelSource(settings.gate_model, notify=notify)
    gate = GateJudge(eagerness=settings.eagerness, threshold=settings.gate_threshold, source=source)
    if judge == "gate":
        return gate
    from proactive_ls.judges.vllm import VllmJudge

    endpoint = settings.judge_model or settings.model
    if endpoint is None:
        raise ValueError('judge "vllm" needs a "judgeModel" (or "model") setting')
    return VllmJudge(endpoint, fallback=gate, notify=notify)


def build_redactor(settings: Settings, roots: list[Path], gitignore: GitignoreCache | None = None) -> Redactor:
    return Redactor(
        exclude=settings.exclude_globs(),
        respect_gitignore=settings.respect_gitignore,
        redact_secrets=settings.redact_secrets,
        roots=roots,
        gitignore=gitignore,
    )


class GitSource(BackgroundSource):
    """Polls one repository's state files at a low rate (or when the client says they changed),
    in a worker thread: the engine never waits for a snapshot (engine/background.py)."""

    def __init__(self, watcher: Any, interval: float, wake: Callable[[], None] | None = None) -> None:
        self.watcher = watcher  # sensing.git_state.GitWatcher, imported lazily with GitPython
        super().__init__(self._poll, interval, wake)

    def _poll(self, now: float, forced: bool) -> list[EventBase]:
        events: list[EventBase] = (self.watcher.check if forced else self.watcher.poll)(now)
        return events


class Session:
    def __init__(
        self,
        settings: Settings,
        roots: list[Path],
        on_tick: OnTick,
        notify: Notify | None = None,
        encoding: Encoding = "utf-16",
        driver: Driver | None = None,
        feedback: FeedbackLog | None = None,
        record_outcomes: bool = True,
        actuator: Actuator | None = None,
        control: ControlStore | None = None,
        gitignore: GitignoreCache | None = None,
    ) -> None:
        self.settings = settings
        self.roots = roots
        self.driver: Driver = driver or WallClock()
        self.notify = notify
        self.actuator = actuator
        self.redactor = build_redactor(settings, roots, gitignore)
        self._report_invalid_globs()
        self.diagnostics = DiagnosticsState()
        self.documents = DocumentTracker(settings, roots, self.diagnostics, encoding)
        self.feedback = feedback or FeedbackLog(settings.feedback_log_path(), notify=notify)
        self.record_outcomes = record_outcomes
        self.engine = Engine(
            settings,
            build_proposer(settings, notify),
            build_judge(settings, notify),
            self.feedback if record_outcomes else None,
            redact=self.redactor.redact_event,
            workspace_roots=[str(r) for r in roots],
            language_of=self.language_of,
            inside=self.redactor.inside_workspace,
            learner=self._learner(settings),
        )
        self.on_tick = on_tick
        self.stepper = Stepper(self.engine, on_tick)
        self.stepper.observe = self._observe_one
        self.stepper.sources.append(self.documents)
        # The user's pause and mutes, shared with every other server of the user (None in a replay).
        self.control: SessionControl | None = None
        if control is not None:
            self.control = SessionControl(control, roots)
            self.engine.control = self.control
            self.stepper.sources.append(ControlSource(self.control, self.engine.withdraw))
        self.driver.bind(self.stepper)
        self.git: list[GitSource] = []
        self._warmed: set[Path] = set()  # repositories whose check-ignore was started
        # Events whose files git has not judged yet (ignored or not), in order, and the task asking.
        self._held: list[EventBase] = []
        self._judging: asyncio.Task[None] | None = None

    def announce_outcomes(self, callback: OnResolved) -> None:
        """Call `callback` with every outcome, whatever decided it (the server tells its client)."""
        self.engine.on_resolved = callback

    def report_progress(self, progress: Progress) -> None:
        """Run slow steps (a model request, a model task) inside `progress` (the editor's ``$/progress``)."""
        self.engine.progress = progress

    def language_of(self, uri: str | None) -> str | None:
        """The language of a document: the editor's languageId when it is open, else its extension."""
        doc = self.documents.docs.get(uri) if uri else None
        return language_of_uri(uri, doc.language_id if doc is not None else None)

    def _report_invalid_globs(self) -> None:
        for glob, problem in self.redactor.invalid_globs:
            log.warning("skipping the exclude glob %r: %s", glob, problem)
            if self.notify is not None:
                self.notify(f"proactive-ls skipped the exclude glob {glob!r}: {problem}")

    def _learner(self, settings: Settings) -> Learner | None:
        """The per-user model, kept in step with the feedback log (learning/); None when off."""
        if not settings.learning or not self.record_outcomes:
            return None
        from proactive_ls.learning.decider import Learner
        from proactive_ls.learning.store import LearningStore

        return Learner(LearningStore(self.feedback.path), [str(r) for r in self.roots])

    def clock(self) -> float:
        return self.driver()

    def warm_ignores(self, repositories: list[Path] | None = None) -> None:
        """Let git check-ignore load each repository's index off the loop, before the first event
        asks (by default the workspace folders that are repositories: known before any git is run)."""
        if repositories is None:
            repositories = [root for root in self.roots if (root / ".git").exists()]
            if self.driver.realtime and self.settings.redact_secrets:
                # The secret rules compile in ~100 ms: not on the loop at the first event.
                from proactive_ls.sensing.redaction.ruleset import vendored

                asyncio.get_running_loop().run_in_executor(None, vendored)
        todo = [r for r in repositories if r.resolve() not in self._warmed]
        if todo and self.driver.realtime:
            self._warmed.update(r.resolve() for r in todo)
            self._warming = asyncio.get_running_loop().run_in_executor(None, self.redactor.warm, todo)

    def git_watchers(self) -> list[Any]:
        """A watcher for each repository of the workspace (blocking: importing GitPython, walking
        the folders and asking git take hundreds of ms in a big repository; run it in a worker
        thread and hand the result to :meth:`start`)."""
        if not self.driver.realtime:
            return []
        from proactive_ls.sensing.git_state import GitWatcher, find_repositories

        return [GitWatcher(repo) for root in self.roots for repo in find_repositories(root)]

    def start(self, watched_by_client: bool = False, watchers: list[Any] | None = None) -> None:
        """Start sensing what no input reports (git), on the wall clock only, and the driver.
        ``watchers`` are :meth:`git_watchers`' (made here when not given)."""
        if self.driver.realtime:
            interval = self.settings.git_poll_s * (15 if watched_by_client else 1)
            for watcher in self.git_watchers() if watchers is None else watchers:
                self.git.append(GitSource(watcher, interval, wake=self.driver.poke))
            self.stepper.sources.extend(self.git)
            self.maintain_log()
            self.warm_ignores([source.watcher.root for source in self.git])
        self.driver.start()

    def maintain_log(self) -> None:
        """Rotate a large feedback log and drop records older than `retainDays`, off the event loop."""
        from proactive_ls.feedback.lifecycle import maintain

        s = self.settings
        rotate_bytes = int(s.rotate_mb * 1024 * 1024) if s.rotate_mb else None

        def run() -> None:
            try:
                result = maintain(self.feedback.path, s.retain_days, rotate_bytes)
            except OSError as exc:
                log.warning("could not maintain the feedback log %s: %s", self.feedback.path, exc)
                return
            if result.removed:
                log.info("purged %d feedback records older than %g days", result.removed, s.retain_days)

        asyncio.ensure_future(asyncio.to_thread(run))

    def git_watch_globs(self) -> list[str]:
        globs: list[str] = []
        for source in self.git:
            globs.extend(source.watcher.watch_globs())
        return sorted(set(globs))

    def git_files_changed(self) -> None:
        now = self.clock()
        for source in self.git:
            source.request(now)
        self.driver.poke(now)

    def reconfigure(self, settings: Settings) -> None:
        """Use new settings; raises ValueError (or ImportError) when they cannot be used, keeping the old ones."""
        proposer = build_proposer(settings, self.notify) if self._proposer_changes(settings) else None
        judge = build_judge(settings, self.notify) if self._judge_changes(settings) else None
        self.settings = settings
        self.documents.settings = settings
        self.engine.configure(settings)
        self.redactor = build_redactor(settings, self.roots, self.redactor.gitignore)
        self._report_invalid_globs()
        self.engine.redact = self.redactor.redact_event
        self.engine.inside = self.redactor.inside_workspace
        if proposer is not None:
            old = self.engine.proposer
            self.engine.proposer = proposer
            asyncio.ensure_future(old.aclose())
        if judge is not None:
            old_judge = self.engine.judge
            self.engine.judge = judge
            asyncio.ensure_future(old_judge.aclose())
        new_log = settings.feedback_log_path()
        if new_log != self.feedback.path and self.engine.feedback is not None:
            self.feedback = FeedbackLog(new_log, notify=self.notify)
            self.engine.feedback = self.feedback
            self.engine.learner = self._learner(settings)
        elif settings.learning != (self.engine.learner is not None):
            self.engine.learner = self._learner(settings)

    def _proposer_changes(self, settings: Settings) -> bool:
        return (settings.backend, settings.model) != (self.settings.backend, self.settings.model)

    def _judge_changes(self, settings: Settings) -> bool:
        def key(s: Settings) -> tuple[Any, ...]:
            return (s.judge, s.judge_model, s.eagerness, s.gate_threshold, s.gate_model)

        return key(settings) != key(self.settings)

    # -- inputs: the only way an event enters --------------------------------------------------
    def apply(self, item: Input) -> None:
        """Take one input from the editor (or a replay); raises ValueError for one that cannot be used."""
        now = self.clock()
        match item:
            case ChangeInput():
                changes = [c.change() for c in item.changes]
                self.driver.poke(self.documents.change(item.document_uri(), item.version, changes, now))
            case OpenInput():
                text = item.text if item.text is not None else ""
                self._observe(self.documents.open(item.document_uri(), item.language_id, item.version, text, now), now)
            case SaveInput():
                self._observe(self.documents.save(item.document_uri(), item.text, now), now)
                self.git_files_changed()  # a saved file changes the uncommitted diff, which no git state file shows
            case CloseInput():
                self._observe(self.documents.close(item.document_uri(), now), now)
            case TerminalInput():
                self._observe([self._terminal_event(item, now)], now)
                self.git_files_changed()  # a command may have committed, checked out or changed files
            case DiagnosticsInput():
                uri = item.document_uri()
                infos = [d.info() for d in item.diagnostics]
                event = self.diagnostics.update(uri, infos, now, display_path(uri, self.roots))
                if event is not None:
                    self._observe([event], now)
            case EventInput():
                if "time" in item.event:
                    check_event_time(item.event["time"], now)
                self._observe([EventAdapter.validate_python({"time": now, **item.event})], now)

    def _observe(self, events: list[EventBase], now: float) -> None:
        """Hand events to the engine, or hold them (and every later one, to keep the order) until
        git has said whether their files are ignored: asked in a worker thread, never on the loop
        (50 files opened at once in a big repository held the loop a few ms each)."""
        if self._held or not self._judged(events):
            self._held.extend(events)
            if self._judging is None:
                self._judging = asyncio.get_running_loop().create_task(self._release_held())
            return
        for event in events:
            self.engine.observe(event, now)
        self.driver.poke()

    def _observe_one(self, event: EventBase, now: float) -> None:
        self._observe([event], now)

    def _judged(self, events: list[EventBase]) -> bool:
        """Whether redaction can judge these events' files without asking git (always in a replay:
        there the order of git's answers must not depend on threads)."""
        if not self.driver.realtime:
            return True
        paths = [p for e in events for p in (e.uri, e.path) if p]
        return not paths or self.redactor.known_excluded(paths) is not None

    async def _release_held(self) -> None:
        """Ask git about the held events' files off the loop, then observe them in order."""
        try:
            while self._held:
                batch = list(self._held)
                paths = [p for e in batch for p in (e.uri, e.path) if p]
                try:
                    await asyncio.to_thread(self.redactor.is_excluded_many, paths)
                except Exception:  # the engine's own redaction asks again
                    log.exception("could not ask git which files it ignores")
                del self._held[: len(batch)]
                now = self.clock()
                for event in batch:
                    self.engine.observe(event, now)  # redaction's answers are cached now
                self.driver.poke()
        finally:
            self._judging = None

    def _terminal_event(self, item: TerminalInput, now: float) -> TerminalCommand:
        clean = strip_ansi(item.output_tail())
        return TerminalCommand(
            time=now,
            command_line=item.command_line,
            cwd=item.cwd,
            exit_code=item.exit_code,
            duration_ms=item.duration_ms,
            failure=parse_failure(
                item.command_line, clean, item.exit_code, item.cwd, unparsed=self.settings.show_unparsed_failures
            ),
            # Redacted before it is cut: a private key printed early keeps its BEGIN line in view.
            output_tail=self.redactor.redact(clean)[-OUTPUT_TAIL_CHARS:],
        )

    async def advance(self, until: float) -> list[TickResult]:
        """On a virtual clock: run every deadline up to `until`, in order; what each tick gave."""
        if not isinstance(self.driver, VirtualClock):
            raise RuntimeError("only a session on a virtual clock can be advanced")
        return await self.driver.advance(until)

    # -- use cases: the user's answers ---------------------------------------------------------
    def pending(self) -> list[Proposal]:
        return self.engine.pending()

    async def accept(self, proposal_id: str) -> dict[str, Any]:
        """Record an accept and carry it out; the record says why when the carry-out failed.

        An accept of a proposal already recorded as ignored or snoozed (clicked late) is recorded
        with how late it came, and carried out too. Raises UnknownProposal for an id that is
        neither pending nor unanswered.
        """
        now = self.clock()
        late_by: float | None = None
        try:
            proposal = self.engine.claim(proposal_id, "accepted", now)
        except UnknownProposal:
            proposal, late_by = self.engine.claim_late(proposal_id, "accepted", now)
        applied, failure, declined = False, None, None
        try:
            done = await self._carry_out(proposal)
            if isinstance(done, Declined):
                declined = done.how
            elif not (applied := done):
                failure = "the editor did not carry it out"
        except Exception as exc:
            log.exception("carrying out %s failed", proposal.id)
            failure = str(exc) or exc.__class__.__name__
            if self.notify is not None:
                self.notify(f"proactive-ls could not carry out “{proposal.task}”: {failure}")
        detail = None if failure is None else f"not carried out: {failure}"
        if declined is not None:
            detail = f"edit declined: {declined}"
        await self.engine.record(proposal, "accepted", now, detail, late_by_s=late_by)
        result = {"id": proposal.id, "outcome": "accepted", "operation": proposal.operation.kind, "applied": applied}
        if declined is not None:
            result["declined"] = True
        return result if late_by is None else {**result, "lateByS": late_by}

    async def reject(self, proposal_id: str, detail: str | None = None) -> dict[str, Any]:
        now = self.clock()
        try:
            proposal = await self.engine.resolve(proposal_id, "rejected", now, detail)
        except UnknownProposal:
            proposal, late_by = self.engine.claim_late(proposal_id, "rejected", now)
            await self.engine.record(proposal, "rejected", now, detail, late_by_s=late_by)
            return {"id": proposal.id, "outcome": "rejected", "lateByS": late_by}
        return {"id": proposal.id, "outcome": "rejected"}

    async def not_now(self, proposal_id: str) -> Proposal:
        """The user waved this one proposal away without judging it."""
        return await self.engine.resolve(proposal_id, "snoozed", self.clock(), detail="not now")

    async def snooze(self, minutes: float) -> list[Proposal]:
        """Silence proposals for a while (in every window: it is a pause of that length); returns the
        pending ones, now recorded as snoozed."""
        now = self.clock()
        if self.control is not None:
            self.control.store.pause(now, minutes)
        return await self.engine.snooze(minutes, now)

    # -- use cases: the user's off switches (kept in the control file, shared by every window) ----
    def _require_control(self) -> SessionControl:
        if self.control is None:
            raise RuntimeError("this session has no control file (a replay)")
        return self.control

    async def pause(self, minutes: float | None) -> list[Proposal]:
        """Pause every server of the user (None: until resumed); pending proposals are withdrawn."""
        now = self.clock()
        self._require_control().store.pause(now, minutes)
        detail = "paused until resumed" if minutes is None else f"paused for {minutes:g} minutes"
        return await self.engine.withdraw(lambda p: True, now, detail)

    def resume(self) -> None:
        self._require_control().store.resume()
        self.engine.resume(self.clock())
        self.driver.poke()

    async def mute(
        self, kind: ProposalKind, language: str | None = None, glob: str | None = None, proposal_id: str | None = None
    ) -> dict[str, Any]:
        """Don't propose this kind again (in this language, for these paths); `proposal_id` is the
        proposal the user said it of, recorded as rejected. Other pending proposals it covers are withdrawn."""
        control = self._require_control()
        now = self.clock()
        mute = Mute(kind=kind, language=language, glob=glob, at=now)
        control.store.mute(mute)
        answered = None
        if proposal_id is not None:
            try:
                answered = await self.reject(proposal_id, detail=f"muted: {mute.describe()}")
            except UnknownProposal:
                answered = None
        await self.engine.withdraw(lambda p: control.covers(p, now) is not None, now, f"muted: {mute.describe()}")
        return {"mute": mute.model_dump(mode="json", by_alias=True), "answered": answered, **self.mutes()}

    def unmute(self, kind: ProposalKind | None, language: str | None = None, glob: str | None = None) -> dict[str, Any]:
        _, removed = self._require_control().store.unmute(kind, language, glob)
        return {"removed": removed, **self.mutes()}

    def mutes(self) -> dict[str, Any]:
        state = self._require_control().state()
        return {"mutes": [m.model_dump(mode="json", by_alias=True) for m in state.mutes]}

    async def propose_now(self) -> dict[str, Any]:
        """Ask for a proposal now (the way to get one in manual mode); delivered like any other."""
        result = await self.engine.propose_now(self.clock())
        await self.on_tick(result)
        return {"proposed": [p.id for p in result.proposals], "lastDecision": self.engine.last_decision}

    def status(self) -> dict[str, Any]:
        now = self.clock()
        control = (
            self.control.state().wire(now)
            if self.control is not None
            else {"paused": False, "pausedUntil": None, "mutes": []}
        )
        return {
            **self.engine.status(now),
            "version": __version__,
            "documents": len(self.documents.docs),
            # Repositories watched, and those whose baseline is taken (a change after that is reported).
            "git": {"repositories": len(self.git), "ready": sum(1 for s in self.git if s.watcher.ready)},
            "enabled": self.settings.enabled,
            "mode": self.settings.mode,
            **control,
        }

    async def _carry_out(self, proposal: Proposal) -> bool | Declined:
        """Do what accepting means. Only ever called after the user accepted; an edit is refused
        before the user sees it when it touches a file outside the workspace."""
        op = proposal.operation
        if isinstance(op, ModelTask):
            op = await self._execute_with_model(proposal)
        if self.actuator is None:
            raise RuntimeError("this session has no editor to carry out proposals")
        if isinstance(op, OpenLocation):
            return await self.actuator.open_location(op)
        if isinstance(op, ShowMarkdown):
            return await self.actuator.show_markdown(proposal, op)
        if isinstance(op, ApplyEdit):
            outside = [u for u in edited_uris(op.edit) if not self.redactor.inside_workspace(u)]
            if outside:
                raise ValueError(f"the edit touches {display_path(outside[0], self.roots)}, outside the workspace")
            return await self.actuator.apply_edit(proposal, op)
        assert_never(op)

    async def _execute_with_model(self, proposal: Proposal) -> ShowMarkdown | ApplyEdit:
        from proactive_ls.executor import execute_task

        endpoint = self.settings.model
        if endpoint is None:
            return ShowMarkdown(title=proposal.task, markdown=f"# {proposal.task}\n\n{proposal.message}\n")
        roots = [root.as_uri() for root in self.roots]
        if self.engine.progress is None:
            return await execute_task(endpoint, proposal, self.text_for_model, workspace_roots=roots)
        async with self.engine.progress(f"carrying out “{proposal.task}”"):
            return await execute_task(endpoint, proposal, self.text_for_model, workspace_roots=roots)

    def edit_preview(self, op: ApplyEdit) -> str:
        """The whole change an edit makes to the documents as they are now, as a unified diff
        (for an editor that cannot preview an edit itself); raises ValueError when it cannot be shown."""
        return edit_diff(op.edit, self.documents.text, lambda uri: display_path(uri, self.roots))

    def text_for_model(self, uri: str) -> str | None:
        """A document's text as a model may see it: None for excluded files, secrets redacted."""
        text = self.documents.text(uri)
        if text is None or self.redactor.is_excluded(uri):
            return None
        return self.redactor.redact(text)

    async def aclose(self) -> None:
        if self._judging is not None:
            self._judging.cancel()
        await self.driver.aclose()
        await self.engine.aclose()
        await self.feedback.flush()  # a last try for answers kept in memory
        self.feedback.close()
        for source in self.git:
            await source.aclose()
            source.watcher.close()  # ends GitPython's helper processes


__all__ = [
    "Actuator",
    "Declined",
    "GitSource",
    "Session",
    "UnknownProposal",
    "build_judge",
    "build_proposer",
    "build_redactor",
]
