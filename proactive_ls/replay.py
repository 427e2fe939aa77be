"""Headless replay: feed a recorded session through the real engine on recorded time.

A session file is JSON Lines (docs/replay-format.md): an optional header line, then one
*action* per line — what an editor would have told the server (open, change, save, close,
terminal, diagnostics) or a ready-made event. Time is virtual: quiet periods, intervals and
timeouts are measured on the recorded clock, so a replay of an hour takes milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel

from proactive_ls.config import Settings, parse_settings
from proactive_ls.engine import TickResult
from proactive_ls.events import EventAdapter
from proactive_ls.feedback.log import FeedbackLog
from proactive_ls.proposals import Proposal
from proactive_ls.sensing.diagnostics import LspDiagnostic
from proactive_ls.sensing.documents import Change
from proactive_ls.sensing.paths import path_to_uri
from proactive_ls.session import Session

FORMAT: Final = "proactive-ls/session"


class _Action(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
    time: float


class _DocAction(_Action):
    path: str | None = Field(default=None, description="relative to the workspace")
    uri: str | None = None

    def resolve_uri(self, workspace: Path) -> str:
        if self.uri:
            return self.uri
        if not self.path:
            raise ValueError("an action on a document needs 'path' or 'uri'")
        return path_to_uri(workspace / self.path)


class OpenAction(_DocAction):
    action: Literal["open"] = "open"
    language_id: str = ""
    text: str | None = Field(default=None, description="default: the file's content on disk")
    version: int = 0


class RangeChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    range: dict[str, dict[str, int]] | None = None
    text: str


class ChangeAction(_DocAction):
    action: Literal["change"] = "change"
    version: int = 0
    changes: list[RangeChange]


class SaveAction(_DocAction):
    action: Literal["save"] = "save"


class CloseAction(_DocAction):
    action: Literal["close"] = "close"


class TerminalAction(_Action):
    action: Literal["terminal"] = "terminal"
    command_line: str
    cwd: str | None = Field(default=None, description="relative to the workspace")
    exit_code: int | None = None
    output: str = ""
    duration_ms: int | None = None


class DiagnosticsAction(_DocAction):
    action: Literal["diagnostics"] = "diagnostics"
    diagnostics: list[LspDiagnostic]


class EventAction(_Action):
    action: Literal["event"] = "event"
    event: dict[str, Any]


Action = Annotated[
    Union[OpenAction, ChangeAction, SaveAction, CloseAction, TerminalAction, DiagnosticsAction, EventAction],
    Field(discriminator="action"),
]
ActionAdapter: TypeAdapter[Any] = TypeAdapter(Action)


class Header(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")
    format: Literal["proactive-ls/session"] = FORMAT
    version: int = 1
    description: str = ""
    workspace: str = Field(default=".", description="the workspace folder, relative to the session file")
    settings: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(default_factory=dict, description="what a correct replay proposes (used by tests)")


@dataclass
class Recording:
    header: Header
    actions: list[Any]
    workspace: Path
    source: Path


class ReplayFormatError(ValueError):
    pass


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ReplayFormatError(f"{path}:{number}: not JSON: {exc.msg}") from None


def load_session(path: Path) -> Recording:
    """Read a session file (see docs/replay-format.md)."""
    header = Header()
    actions: list[Any] = []
    for number, data in _lines(path):
        if number == 1 and data.get("format") == FORMAT:
            header = Header.model_validate(data)
            continue
        try:
            actions.append(ActionAdapter.validate_python(data))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ReplayFormatError(f"{path}:{number}: {first['msg']} at {where}") from None
    actions.sort(key=lambda a: a.time)
    return Recording(header, actions, (path.parent / header.workspace).resolve(), path)


def load_any(path: Path) -> Recording:
    """A session file, a `serve --record` recording, or a ProactiveBench trace."""
    if path.suffix == ".json":
        from proactive_ls.bench.traces import trace_as_recording

        return trace_as_recording(path)
    with open(path, encoding="utf-8") as f:
        first = f.readline()
    try:
        head = json.loads(first) if first.strip() else {}
    except json.JSONDecodeError:
        head = {}
    if isinstance(head, dict) and head.get("format") == "proactive-ls/recording":
        from proactive_ls.recording import recording_as_session

        return recording_as_session(path)
    return load_session(path)


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


async def _noop(_: Any) -> None:
    return None


async def advance_deadlines(
    session: Session,
    now: float,
    until: float,
    set_now: Callable[[float], None],
    on_tick: Callable[[TickResult], Awaitable[None]],
) -> float:
    """Run every deadline of `session` up to `until`, in order, each at its own time; return the new now.

    Shared by the engine replay and by the server's virtual clock (proactive_ls.replay_lsp), so
    both paths step through exactly the same deadlines at exactly the same times.
    """
    documents, engine = session.documents, session.engine
    while True:
        deadlines = [d for d in (documents.next_deadline(), engine.next_deadline()) if d is not None]
        if not deadlines or min(deadlines) > until:
            break
        now = max(now, min(deadlines))
        set_now(now)
        for event in await documents.flush_due(now):
            engine.observe(event, now)
        await on_tick(await engine.tick(now))
    now = max(now, until)
    set_now(now)
    return now


class Replayer:
    """Drives a Session's parts on virtual time, deadline by deadline."""

    def __init__(self, recording: Recording, settings: Settings, feedback: FeedbackLog | None = None) -> None:
        self.recording = recording
        self.now = recording.actions[0].time if recording.actions else 0.0
        self.session = Session(
            settings,
            [recording.workspace],
            _noop,
            clock=lambda: self.now,
            feedback=feedback,
            record_outcomes=feedback is not None,
        )
        self.result = ReplayResult(str(recording.source), start=self.now)

    async def _advance(self, until: float) -> None:
        """Run every deadline (edit bursts, quiet periods, ignore timeouts) that falls before `until`."""

        def set_now(t: float) -> None:
            self.now = t

        async def collect(tick: TickResult) -> None:
            self.result.proposals.extend(tick.proposals)
            self.result.filtered += len(tick.filtered)
            for proposal in tick.proposals:
                self.result.steps.append({"time": self.now, "proposal": proposal.wire()})

        await advance_deadlines(self.session, self.now, until, set_now, collect)

    def _observe(self, events: list[Any]) -> None:
        for event in events:
            self.session.engine.observe(event, self.now)

    def _apply(self, action: Any) -> None:
        s, ws, now = self.session, self.recording.workspace, self.now
        observe = self._observe
        if isinstance(action, OpenAction):
            uri = action.resolve_uri(ws)
            text = action.text if action.text is not None else (ws / (action.path or "")).read_text(encoding="utf-8")
            observe(s.documents.open(uri, action.language_id, action.version, text, now))
        elif isinstance(action, ChangeAction):
            changes = []
            for c in action.changes:
                if c.range is None:
                    changes.append(Change(c.text))
                else:
                    start, end = c.range["start"], c.range["end"]
                    changes.append(Change(c.text, (start["line"], start["character"]), (end["line"], end["character"])))
            s.documents.change(action.resolve_uri(ws), action.version, changes, now)
        elif isinstance(action, SaveAction):
            observe(s.documents.save(action.resolve_uri(ws), None, now))
        elif isinstance(action, CloseAction):
            observe(s.documents.close(action.resolve_uri(ws), now))
        elif isinstance(action, TerminalAction):
            cwd = str((ws / action.cwd).resolve()) if action.cwd else str(ws)
            s.terminal_command(action.command_line, cwd, action.exit_code, action.output, action.duration_ms)
        elif isinstance(action, DiagnosticsAction):
            s.diagnostics_published(action.resolve_uri(ws), [d.info() for d in action.diagnostics])
        elif isinstance(action, EventAction):
            s.engine.observe(EventAdapter.validate_python({**action.event, "time": action.time}), now)

    async def run(self, speed: float = 0.0) -> ReplayResult:
        started = time.perf_counter()
        # Session.terminal_command and diagnostics_published hand events to the runner; on virtual
        # time they go straight to the engine instead.
        self.session.runner.observe = self._observe  # type: ignore[method-assign]
        previous = self.now
        for action in self.recording.actions:
            if speed > 0 and action.time > previous:
                await asyncio.sleep((action.time - previous) / speed)
            previous = action.time
            await self._advance(action.time)
            self._apply(action)
            self.result.actions += 1
        await self._advance(self.now + max(self.session.settings.ignore_after_s, self.session.settings.quiet_period_ms / 1000) + 1)
        self.result.events = self.session.engine.counts.events
        self.result.duration_s = time.perf_counter() - started
        await self.session.engine.aclose()
        return self.result



def replay_settings(recording: Recording, extra: dict[str, Any] | None = None) -> Settings:
    return parse_settings({**recording.header.settings, **(extra or {})})


async def replay_file(path: Path, extra_settings: dict[str, Any] | None = None, speed: float = 0.0) -> ReplayResult:
    recording = load_any(path)
    return await Replayer(recording, replay_settings(recording, extra_settings)).run(speed)


def main_replay(files: list[Path], lsp: bool, speed: float, json_out: bool, settings_file: Path | None, judge: str | None) -> int:
    from rich.console import Console

    console = Console(stderr=False, highlight=False, soft_wrap=True)
    extra: dict[str, Any] = json.loads(settings_file.read_text()) if settings_file else {}
    if judge:
        extra["judge"] = judge
    results = []
    for path in files:
        try:
            if lsp:
                from proactive_ls.replay_lsp import replay_over_lsp

                result = asyncio.run(replay_over_lsp(path, extra))
            else:
                result = asyncio.run(replay_file(path, extra, speed))
        except (ReplayFormatError, ValueError, OSError) as exc:
            print(f"proactive-ls replay: {exc}", file=sys.stderr)
            return 2
        results.append(result)
        if not json_out:
            console.print(f"[bold]{path}[/bold]")
            for step in result.steps:
                p = step["proposal"]
                console.print(f"  [green]proposal[/green] at +{step['time'] - result.start:.1f}s: {p['task']}")
                console.print(f"    {p['message']}")
            if not result.steps:
                console.print("  (no proposal: proactive-ls stays silent)")
            s = result.summary()
            console.print(f"  {s['actions']} actions, {s['events']} events, {s['proposals']} proposals, {s['filtered']} filtered, in {s['seconds']:.3f} s")
    if json_out:
        print(json.dumps([{**r.summary(), "steps": r.steps} for r in results], indent=2))
    return 0
