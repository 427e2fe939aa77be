"""LSP wiring: messages in, session calls, messages out. The thinking happens in the session and engine.

Each handler turns its message into a session input or use case in a line or two; what stays
here is LSP's own business: capabilities, ``window/showMessageRequest``, ``window/showDocument``,
``workspace/applyEdit`` and the registration of file watchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method

from proactive_ls import __version__
from proactive_ls.lsp import names

# Nothing heavier before the initialize response: the settings (pydantic), the session and the
# engine are imported when the session is made, at the first message after it.
if TYPE_CHECKING:
    from proactive_ls.config import Settings, SettingsLayers
    from proactive_ls.control.kinds import ProposalKind
    from proactive_ls.engine import TickResult
    from proactive_ls.feedback.log import Outcome
    from proactive_ls.lsp import confirm, protocol, surfaces
    from proactive_ls.lsp.protocol import Route
    from proactive_ls.proposals import ApplyEdit, OpenLocation, Proposal, ShowMarkdown
    from proactive_ls.session import Declined, Session
    from proactive_ls.shell_hook.listener import ShellHookListener
else:

    class _Later:
        """A module imported at its first use: the first message after the initialize response."""

        def __init__(self, name: str) -> None:
            self._name = name

        def __getattr__(self, attr: str) -> Any:
            return getattr(importlib.import_module(self._name), attr)

    protocol = _Later("proactive_ls.lsp.protocol")
    surfaces = _Later("proactive_ls.lsp.surfaces")
    confirm = _Later("proactive_ls.lsp.confirm")

log = logging.getLogger(__name__)

Handlers = Generator[Any, None, None]


@dataclass(frozen=True)
class _Unreadable:
    """A message whose params did not fit its method: a request gets InvalidParams, a notification
    is reported to the user; nothing else happens (pygls would answer nothing)."""

    data: dict[str, Any]
    problem: str


class ProactiveProtocol(LanguageServerProtocol):
    """Skips pygls's own document store: it rebuilds the whole text on every change.

    The session keeps an O(edit) mirror of each document instead. Every request gets an answer:
    one whose params do not fit gets InvalidParams, and no error carries a traceback to the client.
    """

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            cause = exc.__cause__
            if isinstance(cause, cattrs.BaseValidationError):
                problem = "; ".join(cattrs.transform_error(cause)[:3])
            else:
                problem = protocol.describe_problem(cause if isinstance(cause, Exception) else exc)
            return _Unreadable(data, problem)

    def handle_message(self, message: Any) -> None:
        if not isinstance(message, _Unreadable):
            super().handle_message(message)
            return
        method = str(message.data.get("method", ""))
        if "id" in message.data and method:
            error = JsonRpcInvalidParams(f"invalid params for {method}: {message.problem}")
            self._send_response(message.data["id"], None, error.to_response_error())
        elif method:
            tell = getattr(self._server, "tell", None)
            if tell is not None:
                tell(f"proactive-ls ignored a malformed {method}: {message.problem}")

    def _send_response(self, msg_id: Any, result: Any | None = None, error: types.ResponseError | None = None) -> None:
        if error is not None and error.data is not None:
            error = types.ResponseError(code=error.code, message=error.message)  # the traceback stays in the log
        super()._send_response(msg_id, result, error)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> Handlers:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Handlers:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> Handlers:
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class ProactiveServer(LanguageServer):
    """The pygls server; it is the session's :class:`~proactive_ls.session.Actuator` in the editor."""

    def __init__(self, overrides: dict[str, Any] | None = None, virtual_clock: bool = False) -> None:
        super().__init__(
            "proactive-ls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=ProactiveProtocol,
            converter_factory=names.converter,
        )
        self.overrides = overrides
        self.virtual_clock = virtual_clock
        self.session: Session | None = None
        self.written: list[Path] = []  # files this server wrote for the editor (markdown), removed at shutdown
        self.notify_proposals = False
        self.config_error: str | None = None
        self.shell_hook: ShellHookListener | None = None
        self.initialize_params: types.InitializeParams | None = None

    @functools.cached_property
    def layers(self) -> SettingsLayers:
        from proactive_ls.config import SettingsLayers

        return SettingsLayers(self.overrides)

    def require_session(self) -> Session:
        """The session, made at the first message after the initialize response (not before it: the
        editor waits for that answer, and the session's imports and set-up are most of start-up)."""
        if self.session is None:
            if self.initialize_params is None:
                raise JsonRpcInvalidParams("proactive-ls is not initialized yet")
            self.open_session(self.initialize_params)
            assert self.session is not None
        return self.session

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- in ------------------------------------------------------------------------------------
    def open_session(self, params: types.InitializeParams) -> None:
        settings, self.config_error = self.layers.initial(
            params.initialization_options, protocol.workspace_roots(params)
        )
        self.notify_proposals = protocol.wants_notifications(params.capabilities)
        try:
            self.session = self._session(settings, params)
        except (ValueError, ImportError) as exc:
            self.config_error = f"Invalid proactive-ls settings: {exc}; using the defaults"
            self.session = self._session(self.layers.defaults(), params)

    def _session(self, settings: Settings, params: types.InitializeParams) -> Session:
        from proactive_ls.control.store import ControlStore, default_control_path
        from proactive_ls.engine.driver import Driver, VirtualClock, WallClock
        from proactive_ls.session import Session

        driver: Driver = VirtualClock() if self.virtual_clock else WallClock()
        roots = protocol.workspace_roots(params)
        encoding = protocol.position_encoding(self.workspace.position_encoding)
        # A replay's server (virtual clock) ignores the user's pause and mutes: replays stay reproducible.
        control = None if self.virtual_clock else ControlStore(default_control_path())
        session = Session(
            settings,
            roots,
            self.on_tick,
            notify=self.tell,
            encoding=encoding,
            driver=driver,
            actuator=self,
            control=control,
        )
        session.announce_outcomes(self.announce_resolved)
        if self._supports_progress(params):
            session.report_progress(self.work_progress)
        return session

    @staticmethod
    def _supports_progress(params: types.InitializeParams) -> bool:
        window = params.capabilities.window if params.capabilities else None
        return bool(window and window.work_done_progress)

    @contextlib.asynccontextmanager
    async def work_progress(self, title: str) -> AsyncIterator[None]:
        """``$/progress`` around a slow step (a model request, a model task); without it if refused."""
        token = f"proactive-{uuid.uuid4().hex[:8]}"
        try:
            await self.work_done_progress.create_async(token)
        except Exception:
            log.debug("the client refused a progress token")
            yield
            return
        self.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=f"proactive-ls: {title}"))
        try:
            yield
        finally:
            self.work_done_progress.end(token, types.WorkDoneProgressEnd())

    def log_message(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """``window/logMessage``: what the user may want to read later (the output panel), not a popup."""
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def apply(self, route: Route[Any, Any], params: Any) -> None:
        """A message that carries an input: into the session, or reported as malformed."""
        from proactive_ls.lsp.protocol import MalformedMessage

        session = self.require_session()
        try:
            session.apply(route.input(params))
        except MalformedMessage as exc:
            self.tell(f"proactive-ls ignored a malformed {exc.method}: {exc.problem}")
        except ValueError as exc:  # a well-formed message the session cannot use (an invalid event)
            self.tell(f"proactive-ls ignored a malformed {route.method}: {protocol.describe_problem(exc)}")

    def reconfigure(self, raw: Any) -> None:
        from proactive_ls.config import SettingsError

        session = self.require_session()
        try:
            settings, options = self.layers.changed(raw)
            if self.layers.problem is not None:
                self.tell(self.layers.problem)
            session.reconfigure(settings)
        except SettingsError as exc:
            self.tell(f"{exc}; keeping the current settings", types.MessageType.Error)
            return
        except (ValueError, ImportError) as exc:
            self.tell(f"Invalid proactive-ls settings: {exc}; keeping the current ones", types.MessageType.Error)
            return
        self.layers.commit(options)

    def can_pull_settings(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)

    async def pull_settings(self) -> None:
        """Ask the client for section ``proactive`` (per workspace folder; the first folder wins) when
        it supports ``workspace/configuration``; what it answers goes over the current settings."""
        from proactive_ls.config import unwrap_pulled

        session = self.require_session()
        items = [types.ConfigurationItem(section="proactive", scope_uri=r.as_uri()) for r in session.roots]
        try:
            answers = await self.workspace_configuration_async(
                types.ConfigurationParams(items=items or [types.ConfigurationItem(section="proactive")])
            )
        except Exception as exc:
            log.warning("workspace/configuration failed: %s", exc)
            return
        merged: dict[str, Any] = {}
        for answer in reversed(list(answers or [])):
            merged.update(unwrap_pulled(answer) or {})
        if merged:
            self.reconfigure(merged)

    async def watch_git_files(self) -> None:
        """Ask a client that can watch files to report the git state files; else the session polls them."""
        session = self.require_session()
        dynamic = self.client_capabilities.workspace and self.client_capabilities.workspace.did_change_watched_files
        watched = bool(dynamic and dynamic.dynamic_registration)
        session.warm_ignores()  # first: the first didOpen asks check-ignore
        # Off the loop: importing GitPython and opening a big repository would block requests.
        watchers = await asyncio.to_thread(session.git_watchers)
        session.start(watched_by_client=watched, watchers=watchers)
        if not watched or not (globs := session.git_watch_globs()):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=g) for g in globs]
        )
        registration = types.Registration(
            id="proactive-git", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
        )
        try:
            await self.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
        except Exception:
            log.warning("the client refused to watch git state files; polling instead")

    async def listen_for_shells(self) -> None:
        """Shells outside the editor report their commands here (``proactive-ls shell-hook``)."""
        from proactive_ls.shell_hook.listener import ShellHookListener

        session = self.require_session()
        if not self.virtual_clock:  # a replay senses nothing but its inputs
            self.shell_hook = ShellHookListener(session.roots, session.apply)
            await self.shell_hook.start()

    async def stop_listening_for_shells(self) -> None:
        if self.shell_hook is not None:
            await self.shell_hook.aclose()
            self.shell_hook = None

    # -- out -----------------------------------------------------------------------------------
    async def on_tick(self, result: TickResult) -> None:
        for proposal in result.proposals:
            self.log_message(f"proposed {proposal.id} ({proposal.kind}): {proposal.task}")
            if self.notify_proposals:
                self.protocol.notify(protocol.PROPOSAL, proposal.wire())
                continue
            announce = self.require_session().settings.announce
            if announce == "message":
                self.window_show_message(surfaces.message(proposal))
            elif announce == "request":
                asyncio.ensure_future(self.ask_user(proposal))
        for filtered in result.filtered:
            reason = filtered.verdict.reason if filtered.verdict else ""
            self.log_message(f"filtered ({filtered.kind}): {filtered.task} — {reason}")

    def announce_resolved(self, proposal: Proposal, outcome: Outcome, late_by_s: float | None) -> None:
        """Every outcome, whatever decided it, to the client (so its view of what is pending stays true)."""
        if outcome == "filtered":
            return
        params = protocol.ProposalResolvedParams(id=proposal.id, outcome=outcome, late_by_s=late_by_s)
        self.protocol.notify(protocol.PROPOSAL_RESOLVED, params.model_dump(by_alias=True, exclude_none=True))
        late = "" if late_by_s is None else f", {late_by_s:.0f} s late"
        self.log_message(f"{outcome} {proposal.id} ({proposal.kind}){late}: {proposal.task}")

    async def ask_user(self, proposal: Proposal) -> None:
        """A client without the proposals capability is asked with window/showMessageRequest."""
        from proactive_ls.control.kinds import ProposalKind
        from proactive_ls.engine import UnknownProposal

        session = self.require_session()
        try:
            answer = await self.window_show_message_request_async(surfaces.message_request(proposal))
        except Exception:
            log.exception("the client could not show the proposal")
            return
        title = _title(answer)
        try:
            if title == surfaces.ACCEPT:
                await session.accept(proposal.id)
            elif title == surfaces.REJECT:
                await session.reject(proposal.id)
            elif title == surfaces.NOT_NOW:
                await session.not_now(proposal.id)
            elif title == surfaces.MUTE:
                await session.mute(ProposalKind(proposal.kind), proposal_id=proposal.id)
            # no answer: it stays pending and is recorded as ignored after ignoreAfterS
        except UnknownProposal:
            log.info("proposal %s was answered elsewhere first", proposal.id)

    # -- the session's actuator ----------------------------------------------------------------
    async def open_location(self, op: OpenLocation) -> bool:
        shown = await self.window_show_document_async(surfaces.show_location(op))
        return bool(getattr(shown, "success", False))

    async def show_markdown(self, proposal: Proposal, op: ShowMarkdown) -> bool:
        path = surfaces.markdown_file(proposal, op)
        self.written.append(path)  # removed at shutdown
        shown = await self.window_show_document_async(types.ShowDocumentParams(uri=path.as_uri(), take_focus=True))
        return bool(getattr(shown, "success", False))

    async def apply_edit(self, proposal: Proposal, op: ApplyEdit) -> bool | Declined:
        """Shown in full and confirmed before it is applied (``lsp/confirm.py``): the editor's own
        preview when it has change annotations, else the diff in a message request first."""
        from proactive_ls.session import Declined

        if confirm.wants_annotations(self.client_capabilities):
            result = await self.workspace_apply_edit_async(confirm.annotated_edit(proposal, op))
            if getattr(result, "applied", False):
                return True
            if getattr(result, "failure_reason", None):
                log.warning("the editor did not apply the edit: %s", result.failure_reason)
                return False
            return Declined("not applied in the editor's preview")
        request = confirm.preview_request(proposal, op, self.require_session().edit_preview(op))
        title = _title(await self.window_show_message_request_async(request))
        if title != confirm.APPLY:
            return Declined("Cancel in the preview" if title == confirm.CANCEL else "the preview was dismissed")
        applied = await self.workspace_apply_edit_async(surfaces.apply_edit(op, self.protocol._converter))
        return bool(getattr(applied, "applied", False))


def _title(answer: Any) -> str | None:
    """The title of the action a showMessageRequest was answered with (None: dismissed)."""
    title = getattr(answer, "title", None) or (answer.get("title") if isinstance(answer, dict) else None)
    return title if isinstance(title, str) else None


async def _answered(answer: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """The user's answer to a proposal; one that is not pending (any more) is an InvalidParams error."""
    from proactive_ls.engine import UnknownProposal

    try:
        return await answer
    except UnknownProposal as exc:
        raise JsonRpcInvalidParams(f"no pending proposal {exc.args[0]!r}") from None


def _kind(text: str | None) -> ProposalKind:
    from proactive_ls.control.kinds import parse_kind

    try:
        return parse_kind(text or "")
    except ValueError as exc:
        raise JsonRpcInvalidParams(str(exc)) from None


def create_server(overrides: dict[str, Any] | None = None, virtual_clock: bool = False) -> ProactiveServer:
    """The server; with `virtual_clock`, time moves only by ``proactive/replay/advance`` (replay over LSP)."""
    server = ProactiveServer(overrides, virtual_clock)

    @server.feature(types.INITIALIZE)
    def initialize(ls: ProactiveServer, params: types.InitializeParams) -> None:
        ls.initialize_params = params  # the session is made right after the answer (require_session)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: ProactiveServer, params: types.InitializedParams) -> None:
        ls.require_session()
        if ls.config_error:
            ls.tell(ls.config_error)
            ls.config_error = None
        if ls.can_pull_settings():
            await ls.pull_settings()
        await ls.listen_for_shells()  # first: cheap, while git's start-up work takes a worker thread a while
        await ls.watch_git_files()

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: ProactiveServer, params: Any) -> None:
        from proactive_ls.private_files import remove_files

        await ls.stop_listening_for_shells()
        if ls.session is not None:
            await ls.session.aclose()
        remove_files(ls.written)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: ProactiveServer, params: types.DidChangeConfigurationParams) -> None:
        if isinstance(params.settings, dict) and params.settings:
            ls.reconfigure(params.settings)  # pushed: the settings themselves
        elif ls.can_pull_settings():
            await ls.pull_settings()  # the pull model: the notification only says "ask again"

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: ProactiveServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.require_session().git_files_changed()

    # -- inputs: one line each -------------------------------------------------------------------
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ProactiveServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.apply(protocol.OPEN, params)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ProactiveServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.apply(protocol.CHANGE, params)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: ProactiveServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.apply(protocol.SAVE, params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ProactiveServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.apply(protocol.CLOSE, params)

    @server.feature(names.TERMINAL_COMMAND)
    def terminal_command(ls: ProactiveServer, params: Any) -> None:
        ls.apply(protocol.TERMINAL, params)

    @server.feature(names.DIAGNOSTICS)
    def diagnostics(ls: ProactiveServer, params: Any) -> None:
        ls.apply(protocol.DIAGNOSTICS_ROUTE, params)

    @server.feature(names.EVENT)
    def event(ls: ProactiveServer, params: Any) -> None:
        ls.apply(protocol.EVENT_ROUTE, params)

    # -- surfaces and use cases ------------------------------------------------------------------
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[names.CODE_ACTION_KIND])
    )
    def code_action(ls: ProactiveServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        only = [str(k) for k in params.context.only] if params.context and params.context.only else None
        return surfaces.code_actions(ls.require_session().pending(), params.text_document.uri, params.range, only)

    @server.command(names.COMMAND_ACCEPT)
    async def accept(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        return await _answered(ls.require_session().accept(protocol.proposal_id_argument(args)))

    @server.command(names.COMMAND_REJECT)
    async def reject(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        return await _answered(ls.require_session().reject(protocol.proposal_id_argument(args)))

    @server.command(names.COMMAND_SNOOZE)
    async def snooze(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        session = ls.require_session()
        await session.snooze(protocol.snooze_minutes_argument(args))
        return session.status()

    @server.command(names.COMMAND_PAUSE)
    async def pause(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        session = ls.require_session()
        await session.pause(protocol.pause_argument(args))
        return session.status()

    @server.command(names.COMMAND_RESUME)
    def resume(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        session = ls.require_session()
        session.resume()
        return session.status()

    @server.command(names.COMMAND_MUTE)
    async def mute(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        parsed = protocol.mute_argument(args)
        return await ls.require_session().mute(
            _kind(parsed.kind), parsed.language, parsed.glob, proposal_id=parsed.proposal_id
        )

    @server.command(names.COMMAND_UNMUTE)
    def unmute(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        parsed = protocol.mute_argument(args, protocol.COMMAND_UNMUTE)
        kind = None if parsed.kind is None else _kind(parsed.kind)
        return ls.require_session().unmute(kind, parsed.language, parsed.glob)

    @server.command(names.COMMAND_MUTES)
    def mutes(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        return ls.require_session().mutes()

    @server.command(names.COMMAND_PROPOSE_NOW)
    async def propose_now(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        return await ls.require_session().propose_now()

    @server.command(names.COMMAND_STATUS)
    def status(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        hook = ls.shell_hook
        shells = {"socket": str(hook.path) if hook and hook.path else None, "commands": hook.accepted if hook else 0}
        return {**ls.require_session().status(), "shellHook": shells}

    if virtual_clock:

        @server.feature(names.REPLAY_ADVANCE)
        async def advance(ls: ProactiveServer, params: Any) -> dict[str, Any]:
            try:
                to = protocol.AdvanceParams.model_validate(params).to
            except ValueError:
                raise JsonRpcInvalidParams(f'{protocol.REPLAY_ADVANCE} takes {{"to": <unix seconds>}}') from None
            session = ls.require_session()
            results = await session.advance(to)
            answer = protocol.AdvanceResult(
                now=session.clock(),
                proposed=[p.id for r in results for p in r.proposals],
                filtered=sum(len(r.filtered) for r in results),
            )
            return answer.model_dump(by_alias=True)

    return server


__all__ = ["ProactiveServer", "create_server"]
