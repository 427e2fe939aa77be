"""LSP wiring: messages in, session calls, messages out. The thinking happens in the session and engine."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import converters, types
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage, LanguageServerProtocol, lsp_method

from proactive_ls import __version__, surfaces
from proactive_ls.config import Settings, SettingsError, parse_settings
from proactive_ls.engine import TickResult, UnknownProposal
from proactive_ls.events import EventAdapter
from proactive_ls.proposals import ApplyEdit, ModelTask, OpenLocation, Proposal, ShowMarkdown
from proactive_ls.sensing.diagnostics import LspDiagnostic
from proactive_ls.sensing.documents import Change
from proactive_ls.sensing.paths import uri_to_path
from proactive_ls.session import Session

log = logging.getLogger(__name__)

NOTIFY_PROPOSAL = "proactive/proposal"
NOTIFY_RESOLVED = "proactive/proposalResolved"
TERMINAL_COMMAND = "proactive/terminalCommand"
DIAGNOSTICS = "proactive/diagnostics"
EVENT = "proactive/event"
MAX_OUTPUT_CHARS = 64 * 1024


# -- wire models of our own notifications --------------------------------------------------------
class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TerminalCommandParams(_Wire):
    command_line: str = Field(max_length=10_000)
    cwd: str | None = None
    exit_code: int | None = None
    output: str = ""
    duration_ms: int | None = Field(default=None, ge=0)


class DiagnosticsParams(_Wire):
    uri: str
    diagnostics: list[LspDiagnostic] = Field(max_length=10_000)


# -- pygls plumbing ------------------------------------------------------------------------------
def _keep_params(obj: dict[str, Any], cls: type) -> Any:
    """Keep custom messages' params as plain JSON (pygls would make namedtuples of them)."""
    return cls(**obj)


def _converter():  # type: ignore[no-untyped-def]
    converter = converters.get_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, _keep_params)
    return converter


class ProactiveProtocol(LanguageServerProtocol):
    """Skips pygls's own document store: it rebuilds the whole text on every change.

    The session keeps an O(edit) mirror of each document instead.
    """

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):  # type: ignore[override]
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):  # type: ignore[override]
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):  # type: ignore[override]
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


class ProactiveServer(LanguageServer):
    def __init__(self, overrides: dict[str, Any] | None = None, record: Path | None = None) -> None:
        super().__init__(
            "proactive-ls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=ProactiveProtocol,
            converter_factory=_converter,
        )
        self.overrides = overrides or {}
        self.session: Session | None = None
        self.notify_proposals = False
        self.config_error: str | None = None
        self.options: dict[str, Any] = {}
        self.record_path = record

    # -- settings ------------------------------------------------------------------------------
    def settings_from(self, options: Any) -> Settings:
        """Options from the client, overridden by the command line; invalid ones are reported, not fatal."""
        self.options = dict(options) if isinstance(options, dict) else {}
        try:
            return parse_settings({**self.options, **self.overrides})
        except SettingsError as exc:
            self.config_error = str(exc)
            return parse_settings(self.overrides)

    def tell(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    # -- proposals out ---------------------------------------------------------------------------
    async def on_tick(self, result: TickResult) -> None:
        for proposal in result.proposals:
            if self.notify_proposals:
                self.protocol.notify(NOTIFY_PROPOSAL, proposal.wire())
            else:
                asyncio.ensure_future(self.ask_user(proposal))
        for proposal, outcome in result.resolved:
            if self.notify_proposals:
                self.protocol.notify(NOTIFY_RESOLVED, {"id": proposal.id, "outcome": outcome})

    async def ask_user(self, proposal: Proposal) -> None:
        try:
            answer = await self.window_show_message_request_async(surfaces.message_request(proposal))
        except Exception:
            log.exception("the client could not show the proposal")
            return
        title = getattr(answer, "title", None) or (answer.get("title") if isinstance(answer, dict) else None)
        try:
            if title == surfaces.ACCEPT:
                await self.accept(proposal.id)
            elif title == surfaces.REJECT:
                await self.resolve(proposal.id, "rejected")
            elif title == surfaces.NOT_NOW:
                await self.resolve(proposal.id, "snoozed", detail="not now")
            # no answer: it stays pending and is recorded as ignored after ignoreAfterS
        except UnknownProposal:
            log.info("proposal %s was answered elsewhere first", proposal.id)

    async def resolve(self, proposal_id: str, outcome: Any, detail: str | None = None) -> Proposal:
        session = self.require_session()
        return await session.engine.resolve(proposal_id, outcome, session.clock(), detail)

    async def accept(self, proposal_id: str) -> dict[str, Any]:
        proposal = await self.resolve(proposal_id, "accepted")
        applied = await self.carry_out(proposal)
        return {"id": proposal.id, "outcome": "accepted", "operation": proposal.operation.kind, "applied": applied}

    async def carry_out(self, proposal: Proposal) -> bool:
        """Do what accepting means. Only ever called after the user accepted."""
        op = proposal.operation
        try:
            if isinstance(op, ModelTask):
                op = await self.execute_with_model(proposal)
            if isinstance(op, OpenLocation):
                shown = await self.window_show_document_async(surfaces.show_location(op))
                return bool(getattr(shown, "success", False))
            if isinstance(op, ShowMarkdown):
                shown = await self.window_show_document_async(surfaces.show_markdown(proposal, op))
                return bool(getattr(shown, "success", False))
            if isinstance(op, ApplyEdit):
                applied = await self.workspace_apply_edit_async(surfaces.apply_edit(op, self.protocol._converter))
                return bool(getattr(applied, "applied", False))
        except Exception as exc:
            log.exception("carrying out %s failed", proposal.id)
            self.tell(f"proactive-ls could not carry out “{proposal.task}”: {exc}")
        return False

    async def execute_with_model(self, proposal: Proposal) -> ShowMarkdown | ApplyEdit:
        from proactive_ls.executor import execute_task

        session = self.require_session()
        endpoint = session.settings.model
        if endpoint is None:
            return ShowMarkdown(title=proposal.task, markdown=f"# {proposal.task}\n\n{proposal.message}\n")
        roots = [root.as_uri() for root in session.roots]
        return await execute_task(endpoint, proposal, session.text_for_model, workspace_roots=roots)

    def require_session(self) -> Session:
        if self.session is None:
            raise JsonRpcInvalidParams("proactive-ls is not initialized yet")
        return self.session


def _malformed(ls: ProactiveServer, method: str, exc: ValidationError) -> None:
    first = exc.errors()[0]
    ls.tell(f"proactive-ls ignored a malformed {method}: {first['msg']} at {first['loc']}")


def _roots(params: types.InitializeParams) -> list[Path]:
    roots: list[Path] = []
    for folder in params.workspace_folders or []:
        if (path := uri_to_path(folder.uri)) is not None:
            roots.append(path)
    if not roots and params.root_uri and (path := uri_to_path(params.root_uri)) is not None:
        roots.append(path)
    if not roots and params.root_path:
        roots.append(Path(params.root_path))
    return roots


def _proposal_id(args: tuple[Any, ...]) -> str:
    if not args:
        raise JsonRpcInvalidParams("expected the proposal id as the first argument")
    first = args[0]
    if isinstance(first, dict):
        first = first.get("id")
    if not isinstance(first, str):
        raise JsonRpcInvalidParams("the proposal id must be a string")
    return first


def create_server(overrides: dict[str, Any] | None = None, record: Path | None = None) -> ProactiveServer:
    server = ProactiveServer(overrides, record)

    @server.feature(types.INITIALIZE)
    def initialize(ls: ProactiveServer, params: types.InitializeParams) -> None:
        settings = ls.settings_from(params.initialization_options)
        ls.notify_proposals = surfaces.wants_notifications(params.capabilities)
        encoding = str(ls.workspace.position_encoding or "utf-16")
        try:
            ls.session = Session(settings, _roots(params), ls.on_tick, notify=ls.tell, encoding=encoding)  # type: ignore[arg-type]
        except (ValueError, ImportError) as exc:
            ls.config_error = f"Invalid proactive-ls settings: {exc}; using the defaults"
            ls.session = Session(parse_settings(ls.overrides), _roots(params), ls.on_tick, notify=ls.tell, encoding=encoding)  # type: ignore[arg-type]

    @server.feature(types.INITIALIZED)
    async def initialized(ls: ProactiveServer, params: types.InitializedParams) -> None:
        session = ls.require_session()
        if ls.config_error:
            ls.tell(ls.config_error, types.MessageType.Error)
            ls.config_error = None
        dynamic = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        watched = bool(dynamic and dynamic.dynamic_registration)
        session.start(watched_by_client=watched)
        if watched and (globs := session.git_watch_globs()):
            options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[types.FileSystemWatcher(glob_pattern=g) for g in globs])
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(registrations=[types.Registration(id="proactive-git", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)])
                )
            except Exception:
                log.warning("the client refused to watch git state files; polling instead")

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: ProactiveServer, params: Any) -> None:
        if ls.session is not None:
            await ls.session.aclose()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: ProactiveServer, params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        if isinstance(raw, dict):
            for section in ("proactive", "proactive-ls"):
                if section in raw:
                    raw = raw[section]
                    break
        if not isinstance(raw, dict):
            ls.tell("proactive-ls settings must be an object; keeping the current ones", types.MessageType.Error)
            return
        session = ls.require_session()
        try:
            settings = parse_settings({**ls.options, **raw, **ls.overrides})
        except SettingsError as exc:
            ls.tell(f"{exc}; keeping the current settings", types.MessageType.Error)
            return
        try:
            session.reconfigure(settings)
        except (ValueError, ImportError) as exc:
            ls.tell(f"Invalid proactive-ls settings: {exc}; keeping the current ones", types.MessageType.Error)
            return
        ls.options = {**ls.options, **raw}

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: ProactiveServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.require_session().git_files_changed()

    # -- documents -------------------------------------------------------------------------------
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: ProactiveServer, params: types.DidOpenTextDocumentParams) -> None:
        session = ls.require_session()
        doc = params.text_document
        session.runner.observe(session.documents.open(doc.uri, doc.language_id, doc.version, doc.text, session.clock()))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: ProactiveServer, params: types.DidChangeTextDocumentParams) -> None:
        session = ls.require_session()
        changes = [
            Change(c.text, (c.range.start.line, c.range.start.character), (c.range.end.line, c.range.end.character))
            if isinstance(c, types.TextDocumentContentChangePartial)
            else Change(c.text)
            for c in params.content_changes
        ]
        deadline = session.documents.change(params.text_document.uri, params.text_document.version, changes, session.clock())
        session.runner.poke(deadline)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: ProactiveServer, params: types.DidSaveTextDocumentParams) -> None:
        session = ls.require_session()
        session.document_saved(params.text_document.uri, params.text)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: ProactiveServer, params: types.DidCloseTextDocumentParams) -> None:
        session = ls.require_session()
        session.runner.observe(session.documents.close(params.text_document.uri, session.clock()))

    # -- what the client forwards ----------------------------------------------------------------
    @server.feature(TERMINAL_COMMAND)
    def terminal_command(ls: ProactiveServer, params: Any) -> None:
        try:
            p = TerminalCommandParams.model_validate(params)
        except ValidationError as exc:
            _malformed(ls, TERMINAL_COMMAND, exc)
            return
        ls.require_session().terminal_command(p.command_line, p.cwd, p.exit_code, p.output[-MAX_OUTPUT_CHARS:], p.duration_ms)

    @server.feature(DIAGNOSTICS)
    def diagnostics(ls: ProactiveServer, params: Any) -> None:
        try:
            p = DiagnosticsParams.model_validate(params)
        except ValidationError as exc:
            _malformed(ls, DIAGNOSTICS, exc)
            return
        ls.require_session().diagnostics_published(p.uri, [d.info() for d in p.diagnostics])

    @server.feature(EVENT)
    def event(ls: ProactiveServer, params: Any) -> None:
        session = ls.require_session()
        try:
            data = dict(params) if isinstance(params, dict) else {}
            data.setdefault("time", session.clock())
            parsed = EventAdapter.validate_python(data)
        except ValidationError as exc:
            _malformed(ls, EVENT, exc)
            return
        session.runner.observe([parsed])

    # -- surfaces --------------------------------------------------------------------------------
    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    def code_action(ls: ProactiveServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        session = ls.require_session()
        return surfaces.code_actions(session.engine.pending(), params.text_document.uri, params.range)

    @server.command(surfaces.COMMAND_ACCEPT)
    async def accept(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        try:
            return await ls.accept(_proposal_id(args))
        except UnknownProposal as exc:
            raise JsonRpcInvalidParams(f"no pending proposal {exc.args[0]!r}") from None

    @server.command(surfaces.COMMAND_REJECT)
    async def reject(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        try:
            proposal = await ls.resolve(_proposal_id(args), "rejected")
        except UnknownProposal as exc:
            raise JsonRpcInvalidParams(f"no pending proposal {exc.args[0]!r}") from None
        return {"id": proposal.id, "outcome": "rejected"}

    @server.command(surfaces.COMMAND_SNOOZE)
    async def snooze(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        minutes = args[0] if args else 30
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= 24 * 60:
            raise JsonRpcInvalidParams("proactive.snooze takes a number of minutes between 0 and 1440")
        session = ls.require_session()
        snoozed = await session.engine.snooze(float(minutes), session.clock())
        if ls.notify_proposals:
            for p in snoozed:
                ls.protocol.notify(NOTIFY_RESOLVED, {"id": p.id, "outcome": "snoozed"})
        return session.engine.status(session.clock())

    @server.command(surfaces.COMMAND_STATUS)
    def status(ls: ProactiveServer, *args: Any) -> dict[str, Any]:
        session = ls.require_session()
        return {**session.engine.status(session.clock()), "version": __version__, "documents": len(session.documents.docs)}

    return server


__all__ = ["create_server", "ProactiveServer"]
