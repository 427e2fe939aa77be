"""Replay through the real server over stdio, on a virtual clock, so it proposes exactly what the engine replay does.

The problem: the server runs on the wall clock (a loop that sleeps until the next
deadline: the end of an edit burst, of a quiet period, of an unanswered proposal), while a replay
must be fast and must give the same answer every time. Compressing time (settings divided by K,
gaps slept for 1/K) keeps the order of deadlines only approximately: scheduling jitter of a few
milliseconds reorders deadlines that were close, and every timestamp the server writes (event
times, the history a proposal carries, ``createdAt``) differs from the recording.

The design here makes the proposals identical *by construction*:

* The server is the real one (``create_server()``: the same handlers, settings, sensing, engine,
  judge, feedback log and ``proactive/proposal`` notifications, behind real JSON-RPC over stdio),
  started by :data:`SERVER_COMMAND` as ``create_server(virtual_clock=True)``, which changes one
  thing: the session's driver is a :class:`~proactive_ls.engine.driver.VirtualClock` that only the
  client moves, so no wall-clock loop runs (nor git polling, which a replay does not do either).
* The client moves the clock with the request ``proactive/replay/advance {"to": T}``. The server
  then runs every deadline up to T in order, each at its own time, with the very clock and step
  function the engine replay runs, and sends the proposals as notifications before it answers.
* Between two advances the client sends each input as the editor would, turned into its LSP
  message by the protocol's table (``proactive_ls.lsp.protocol``), which the server reads back
  with the same table. The server handles those notifications in order, and the session stamps
  their events with the clock, which is then exactly the input's recorded time, as in the engine
  replay.

So both replays see the same events at the same times and step the same deadlines: their
proposals agree field for field (task, message, anchor, operation, key, createdAt and the
observations), all but the random id. What this path adds over the engine replay is everything
between the editor and the session: the wire format, pygls's decoding, the handlers and their
validation, the notification the editor receives. Editors send at most 64 KiB of terminal output and
the server keeps 500 characters of a diagnostic's message; the client sends what an editor would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from lsprotocol import types
from pydantic.alias_generators import to_snake
from pygls.lsp.client import LanguageClient

from proactive_ls import __version__
from proactive_ls.inputs import Input
from proactive_ls.lsp import protocol
from proactive_ls.lsp.server import create_server
from proactive_ls.proposals import Proposal
from proactive_ls.replay.engine import ReplayResult, replay_settings
from proactive_ls.replay.format import Recording
from proactive_ls.replay.loaders import load_any

log = logging.getLogger(__name__)

SERVER_COMMAND = [sys.executable, "-m", "proactive_ls.replay.over_lsp"]
REQUEST_TIMEOUT_S = 120.0


class ReplayError(OSError):
    """The server process failed during a replay (the message carries the end of its stderr).

    An OSError, so ``proactive-ls replay --lsp`` reports it in one line with exit code 2.
    """


# -- the server side ------------------------------------------------------------------------------


def serve_virtual() -> None:
    """``python -m proactive_ls.replay.over_lsp``: the real server over stdio, on a virtual clock."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().handlers[:] = [handler]
    logging.getLogger().setLevel(os.environ.get("PROACTIVE_LS_LOG_LEVEL", "WARNING").upper())
    create_server(virtual_clock=True).start_io()


# -- the client side ------------------------------------------------------------------------------


class ReplayClient(LanguageClient):
    """A plain pygls client that plays the editor: it sends actions and collects proposals."""

    def __init__(self) -> None:
        super().__init__("proactive-ls-replay", __version__, converter_factory=protocol.converter)
        self.proposals: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._arrived = asyncio.Event()
        self._stderr_task: asyncio.Task[None] | None = None

        @self.feature(protocol.PROPOSAL)
        def _proposal(ls: ReplayClient, params: Any) -> None:
            ls.proposals.append(dict(params))
            ls._arrived.set()

        @self.feature(protocol.PROPOSAL_RESOLVED)
        def _resolved(ls: ReplayClient, params: Any) -> None:
            return None  # an unanswered proposal became "ignored": nothing for a replay to do

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def _message(ls: ReplayClient, params: types.ShowMessageParams) -> None:
            ls.messages.append(params.message)

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def _log(ls: ReplayClient, params: types.LogMessageParams) -> None:
            return None

    async def start(self, command: list[str]) -> None:
        await self.start_io(*command)
        if self._server is not None and self._server.stderr is not None:
            self._stderr_task = asyncio.create_task(self._drain(self._server.stderr))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        # The server's stderr must be read, or a chatty server blocks on a full pipe.
        while line := await stream.readline():
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    def failure(self, what: str) -> ReplayError:
        tail = "\n".join(self.stderr_tail) or "(nothing on stderr)"
        return ReplayError(f"the server failed during {what}:\n{tail}")

    async def request(self, method: str, params: Any) -> Any:
        try:
            return await asyncio.wait_for(self.protocol.send_request_async(method, params), REQUEST_TIMEOUT_S)
        except (TimeoutError, RuntimeError) as exc:
            raise self.failure(f"{method} ({exc.__class__.__name__})") from exc

    async def advance(self, to: float) -> dict[str, Any]:
        return dict(await self.request(protocol.REPLAY_ADVANCE, {"to": to}))

    async def wait_for_proposals(self, count: int, timeout: float = 30.0) -> None:
        """Notifications are sent before the answer to an advance, but handled in their own tasks."""
        end = time.monotonic() + timeout
        while len(self.proposals) < count:
            self._arrived.clear()
            left = end - time.monotonic()
            if left <= 0:
                raise self.failure(f"the wait for {count} proposals (got {len(self.proposals)})")
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                continue

    async def close(self) -> None:
        try:
            if self._server is not None and self._server.returncode is None:
                await asyncio.wait_for(self.shutdown_async(None), 10)
                self.exit(None)
                await asyncio.wait_for(self._server.wait(), 10)
        except Exception:
            if self._server is not None and self._server.returncode is None:
                self._server.kill()
        finally:
            if self._stderr_task is not None:
                try:  # the process has ended: read what it said last (EOF comes at once)
                    await asyncio.wait_for(asyncio.shield(self._stderr_task), 2)
                except (TimeoutError, Exception):
                    self._stderr_task.cancel()
            await self.stop()

    # -- what the editor sends ----------------------------------------------------------------------
    def send(self, item: Input, workspace: Path) -> None:
        """The input as the editor would send it, through the protocol's table."""
        method, params = protocol.message_of(item.resolved(workspace))
        self.protocol.notify(method, params)


def proposal_from_wire(wire: dict[str, Any]) -> Proposal:
    """A proposal as notified (camelCase keys at the top level) back into the model."""
    return Proposal.model_validate({to_snake(k): v for k, v in wire.items()})


def _capabilities() -> types.ClientCapabilities:
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(show_document=types.ShowDocumentClientCapabilities(support=True)),
        workspace=types.WorkspaceClientCapabilities(apply_edit=True),
        experimental=protocol.client_capabilities(),
    )


async def replay_recording_over_lsp(
    recording: Recording, extra_settings: dict[str, Any] | None = None, command: list[str] | None = None
) -> ReplayResult:
    """Replay `recording` through a server started with `command` (default :data:`SERVER_COMMAND`)."""
    extra = dict(extra_settings or {})
    settings = replay_settings(recording, extra)  # invalid settings fail here, as in the engine replay
    workspace = recording.workspace
    started = time.perf_counter()
    result = ReplayResult(str(recording.source), start=recording.start)
    with tempfile.TemporaryDirectory(prefix="proactive-replay-") as tmp:
        # Outcomes (proposals left unanswered become "ignored") go to a scratch log, never the user's.
        # No one answers a replay: nothing to learn, as in the engine replay, which keeps no log.
        options = {
            "learning": False,
            **recording.header.settings,
            **extra,
            "feedbackLog": str(Path(tmp) / "feedback.jsonl"),
        }
        client = ReplayClient()
        await client.start(command or SERVER_COMMAND)
        try:
            await asyncio.wait_for(
                client.initialize_async(
                    types.InitializeParams(
                        process_id=os.getpid(),
                        capabilities=_capabilities(),
                        root_uri=workspace.as_uri(),
                        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name=workspace.name)],
                        initialization_options=options,
                    )
                ),
                REQUEST_TIMEOUT_S,
            )
        except (TimeoutError, RuntimeError) as exc:
            await client.close()
            raise client.failure("initialize") from exc
        try:
            client.initialized(types.InitializedParams())
            now = (await client.advance(result.start))["now"]
            times: dict[str, float] = {}
            filtered = 0
            for action in recording.actions:
                answer = await client.advance(action.time or now)
                now, filtered = answer["now"], filtered + answer["filtered"]
                times.update(dict.fromkeys(answer["proposed"], now))
                client.send(action, workspace)
                result.actions += 1
            tail = max(settings.ignore_after_s, settings.quiet_period_ms / 1000) + 1
            answer = await client.advance(now + tail)
            filtered += answer["filtered"]
            status = await client.request(
                types.WORKSPACE_EXECUTE_COMMAND,
                types.ExecuteCommandParams(command=protocol.COMMAND_STATUS, arguments=[]),
            )
            await client.wait_for_proposals(int(status["proposed"]))
            result.events = int(status["events"])
            result.filtered = filtered
            for wire in client.proposals:
                proposal = proposal_from_wire(wire)
                result.proposals.append(proposal)
                result.steps.append({"time": proposal.created_at, "proposal": wire})
            if client.messages:
                log.info("the server said: %s", " | ".join(client.messages))
        finally:
            await client.close()
    result.duration_s = time.perf_counter() - started
    return result


async def replay_over_lsp(path: Path, extra_settings: dict[str, Any]) -> ReplayResult:
    """Replay a session file, a ``serve --record`` recording or a ProactiveBench trace through the real server."""
    return await replay_recording_over_lsp(load_any(Path(path)), extra_settings)


__all__ = [
    "SERVER_COMMAND",
    "ReplayError",
    "replay_over_lsp",
    "replay_recording_over_lsp",
    "proposal_from_wire",
]


if __name__ == "__main__":
    serve_virtual()
