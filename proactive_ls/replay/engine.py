"""Headless replay: feed a recorded session through the real session and engine on recorded time.

The session runs on a :class:`~proactive_ls.engine.driver.VirtualClock`: quiet periods, intervals
and timeouts are measured on the recorded clock, so a replay of an hour takes milliseconds. Each
recorded input is applied with :meth:`Session.apply`, exactly as the server applies an editor's.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proactive_ls.config import Settings, parse_settings
from proactive_ls.engine import TickResult
from proactive_ls.engine.driver import VirtualClock
from proactive_ls.feedback.log import FeedbackLog
from proactive_ls.inputs import EventInput
from proactive_ls.proposals import Proposal
from proactive_ls.replay.format import Recording, ReplayFormatError
from proactive_ls.replay.loaders import load_any
from proactive_ls.sensing.redaction.gitignore import GitignoreCache, work_tree_of
from proactive_ls.session import Session


@dataclass
class ReplayResult:
    source: str
    start: float = 0.0
    proposals: list[Proposal] = field(default_factory=list)
    events: int = 0
    actions: int = 0
    filtered: int = 0
    duration_s: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "actions": self.actions,
            "events": self.events,
            "proposals": len(self.proposals),
            "filtered": self.filtered,
            "tasks": [p.task for p in self.proposals],
            "seconds": round(self.duration_s, 4),
        }


class Replayer:
    """Drives a Session on virtual time, deadline by deadline, applying the recorded inputs."""

    def __init__(
        self,
        recording: Recording,
        settings: Settings,
        feedback: FeedbackLog | None = None,
        gitignore: GitignoreCache | None = None,
    ) -> None:
        self.recording = recording
        self.clock = VirtualClock(recording.start)
        self.session = Session(
            settings,
            [recording.workspace],
            self._collect,
            driver=self.clock,
            feedback=feedback,
            record_outcomes=feedback is not None,
            gitignore=gitignore,  # shared by the files of one replay: git's processes start once
        )
        self.result = ReplayResult(str(recording.source), start=self.clock.now)

    async def _collect(self, tick: TickResult) -> None:
        self.result.proposals.extend(tick.proposals)
        self.result.filtered += len(tick.filtered)
        for proposal in tick.proposals:
            self.result.steps.append({"time": self.clock.now, "proposal": proposal.wire()})

    async def run(self, speed: float = 0.0) -> ReplayResult:
        started = time.perf_counter()
        workspace = self.recording.workspace
        previous = self.clock.now
        for action in self.recording.actions:
            at = action.time or previous
            if speed > 0 and at > previous:
                await asyncio.sleep((at - previous) / speed)
            previous = at
            await self.clock.advance(at)
            self.session.apply(action.resolved(workspace))
            self.result.actions += 1
        settings = self.session.settings
        await self.clock.advance(self.clock.now + max(settings.ignore_after_s, settings.quiet_period_ms / 1000) + 1)
        self.result.events = self.session.engine.counts.events
        self.result.duration_s = time.perf_counter() - started
        await self.session.aclose()
        return self.result


def replay_settings(recording: Recording, extra: dict[str, Any] | None = None) -> Settings:
    return parse_settings({**recording.header.settings, **(extra or {})})


async def replay_file(
    path: Path,
    extra_settings: dict[str, Any] | None = None,
    speed: float = 0.0,
    gitignore: GitignoreCache | None = None,
) -> ReplayResult:
    recording = load_any(path)
    return await Replayer(recording, replay_settings(recording, extra_settings), gitignore=gitignore).run(speed)


class ReplayCommand:
    """The files of one ``proactive-ls replay`` command: what they share, and git started early.

    Each file still gets a Session of its own (its settings, workspace and clock; nothing of one
    file's state reaches the next). What they share is what costs and holds no session state:
    one gitignore cache, so each repository's ``git check-ignore`` starts once. Every file is
    loaded first (a file that does not load is reported when its turn comes, after the files
    before it were replayed, as before), and the repositories of the workspaces whose inputs
    name files get their check-ignore process started in a worker thread then: git reads its
    index while the first files replay, instead of on the replay's path when a file is first
    judged. Only git's start moves; the answers, asked in order on the replay's path, do not.
    """

    def __init__(self, extra_settings: dict[str, Any] | None = None, speed: float = 0.0) -> None:
        self.extra_settings = extra_settings
        self.speed = speed
        self.gitignore = GitignoreCache()
        self._warming: dict[Path, threading.Thread] = {}

    def load(self, paths: list[Path]) -> list[Recording | Exception]:
        """Each file as a recording (or the error it gives), with git started for its workspace."""
        loaded: list[Recording | Exception] = []
        for path in paths:
            try:
                recording = load_any(path)
            except (ReplayFormatError, ValueError, OSError) as exc:
                loaded.append(exc)
                continue
            loaded.append(recording)
            self._warm(recording)
        return loaded

    def _warm(self, recording: Recording) -> None:
        if all(isinstance(a, EventInput) and not {"uri", "path"} & a.event.keys() for a in recording.actions):
            return  # only events that name no file (a trace's observations): git is never asked
        repository = work_tree_of(recording.workspace)
        if repository is None or repository in self._warming:
            return
        thread = threading.Thread(target=self.gitignore.warm, args=(repository,), daemon=True)
        thread.start()
        self._warming[repository] = thread

    def replayer(self, recording: Recording) -> Replayer:
        """A recording's replayer, with its own session (raises ValueError for invalid settings)."""
        settings = replay_settings(recording, self.extra_settings)
        return Replayer(recording, settings, gitignore=self.gitignore)

    async def replay(self, recording: Recording) -> ReplayResult:
        return await self.replayer(recording).run(self.speed)

    def close(self) -> None:
        for thread in self._warming.values():
            thread.join()
        self.gitignore.close()


__all__ = ["ReplayCommand", "ReplayResult", "Replayer", "replay_file", "replay_settings"]
