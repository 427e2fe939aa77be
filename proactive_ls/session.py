"""One editor session: settings, sensing, engine and feedback log, assembled. No LSP here.

The server builds a Session when the client initializes and feeds it what the client says;
replay builds the same Session around recorded events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from proactive_ls.config import Settings
from proactive_ls.engine import Engine
from proactive_ls.engine.runner import EngineRunner, OnTick
from proactive_ls.events import DiagnosticInfo, EventBase, TerminalCommand
from proactive_ls.feedback.log import FeedbackLog
from proactive_ls.judges.base import AcceptAll, Judge
from proactive_ls.proposers.base import Proposer
from proactive_ls.proposers.local import LocalProposer
from proactive_ls.sensing.diagnostics import DiagnosticsState
from proactive_ls.sensing.documents import DocumentTracker
from proactive_ls.sensing.mirror import Encoding
from proactive_ls.sensing.paths import display_path
from proactive_ls.sensing.redaction import Redactor
from proactive_ls.sensing.terminal import parse_failure, strip_ansi

log = logging.getLogger(__name__)

Notify = Callable[[str], None]
OUTPUT_TAIL_CHARS = 4000


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

    gate = GateJudge(eagerness=settings.eagerness, threshold=settings.gate_threshold)
    if judge == "gate":
        return gate
    from proactive_ls.judges.vllm import VllmJudge

    endpoint = settings.judge_model or settings.model
    if endpoint is None:
        raise ValueError('judge "vllm" needs a "judgeModel" (or "model") setting')
    return VllmJudge(endpoint, fallback=gate, notify=notify)


def build_redactor(settings: Settings, roots: list[Path]) -> Redactor:
    return Redactor(
        exclude=settings.exclude,
        respect_gitignore=settings.respect_gitignore,
        redact_secrets=settings.redact_secrets,
        roots=roots,
    )


@dataclass
class GitSource:
    """Polls one repository's state files at a low rate (or when the client says they changed)."""

    watcher: object
    interval: float
    next_at: float = 0.0
    forced: bool = field(default=False)

    def next_deadline(self) -> float | None:
        return self.next_at

    async def flush_due(self, now: float) -> list[EventBase]:
        self.next_at = now + self.interval
        method = self.watcher.check if self.forced else self.watcher.poll  # type: ignore[attr-defined]
        self.forced = False
        return await asyncio.to_thread(method, now)


class Session:
    def __init__(
        self,
        settings: Settings,
        roots: list[Path],
        on_tick: OnTick,
        notify: Notify | None = None,
        encoding: Encoding = "utf-16",
        clock: Callable[[], float] = time.time,
        feedback: FeedbackLog | None = None,
        record_outcomes: bool = True,
    ) -> None:
        self.settings = settings
        self.roots = roots
        self.clock = clock
        self.notify = notify
        self.redactor = build_redactor(settings, roots)
        self.diagnostics = DiagnosticsState()
        self.documents = DocumentTracker(settings, roots, self.diagnostics, encoding)
        self.feedback = feedback or FeedbackLog(settings.feedback_log_path())
        self.engine = Engine(
            settings,
            build_proposer(settings, notify),
            build_judge(settings, notify),
            self.feedback if record_outcomes else None,
            redact=self.redactor.redact_event,
            workspace_roots=[str(r) for r in roots],
        )
        self.runner = EngineRunner(self.engine, on_tick, clock)
        self.runner.sources.append(self.documents)
        self.git: list[GitSource] = []

    def start(self, watched_by_client: bool = False) -> None:
        from proactive_ls.sensing.git_state import GitWatcher, find_repositories

        interval = self.settings.git_poll_s * (15 if watched_by_client else 1)
        for root in self.roots:
            for repo in find_repositories(root):
                self.git.append(GitSource(GitWatcher(repo), interval))
        self.runner.sources.extend(self.git)
        self.runner.start()

    def git_watch_globs(self) -> list[str]:
        globs: list[str] = []
        for source in self.git:
            globs.extend(source.watcher.watch_globs())  # type: ignore[attr-defined]
        return sorted(set(globs))

    def git_files_changed(self) -> None:
        now = self.clock()
        for source in self.git:
            source.forced = True
            source.next_at = now
        self.runner.poke(now)

    def reconfigure(self, settings: Settings) -> None:
        rebuild_proposer = (settings.backend, settings.model) != (self.settings.backend, self.settings.model)
        rebuild_judge = (settings.judge, settings.judge_model, settings.eagerness, settings.gate_threshold) != (
            self.settings.judge, self.settings.judge_model, self.settings.eagerness, self.settings.gate_threshold
        )
        self.settings = settings
        self.documents.settings = settings
        self.engine.configure(settings)
        self.redactor = build_redactor(settings, self.roots)
        self.engine.redact = self.redactor.redact_event
        if rebuild_proposer:
            old = self.engine.proposer
            self.engine.proposer = build_proposer(settings, self.notify)
            asyncio.ensure_future(old.aclose())
        if rebuild_judge:
            old_judge = self.engine.judge
            self.engine.judge = build_judge(settings, self.notify)
            asyncio.ensure_future(old_judge.aclose())
        new_log = settings.feedback_log_path()
        if new_log != self.feedback.path and self.engine.feedback is not None:
            self.feedback = FeedbackLog(new_log)
            self.engine.feedback = self.feedback

    # -- what the client reports ---------------------------------------------------------------
    def terminal_command(self, command_line: str, cwd: str | None, exit_code: int | None, output: str, duration_ms: int | None) -> None:
        now = self.clock()
        clean = strip_ansi(output)
        failure = parse_failure(command_line, clean, exit_code, cwd)
        event = TerminalCommand(
            time=now,
            command_line=command_line,
            cwd=cwd,
            exit_code=exit_code,
            duration_ms=duration_ms,
            failure=failure,
            output_tail=clean[-OUTPUT_TAIL_CHARS:],
        )
        self.runner.observe([event])
        self.git_files_changed()  # a command may have committed, checked out or changed files

    def document_saved(self, uri: str, text: str | None) -> None:
        self.runner.observe(self.documents.save(uri, text, self.clock()))
        self.git_files_changed()  # a saved file changes the uncommitted diff, which no git state file shows

    def diagnostics_published(self, uri: str, diagnostics: list[DiagnosticInfo]) -> None:
        now = self.clock()
        event = self.diagnostics.update(uri, diagnostics, now, display_path(uri, self.roots))
        if event is not None:
            self.runner.observe([event])

    def text_for_model(self, uri: str) -> str | None:
        """A document's text as a model may see it: None for excluded files, secrets redacted."""
        text = self.documents.text(uri)
        if text is None or self.redactor.is_excluded(uri):
            return None
        return self.redactor.redact(text)

    async def aclose(self) -> None:
        await self.runner.aclose()
        for source in self.git:
            source.watcher.close()  # type: ignore[attr-defined]  # ends GitPython's helper processes
