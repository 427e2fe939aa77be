"""The proactive-ls protocol in one place: method and command names, wire models, the converter,
and the table between LSP messages and the session's inputs.

Nothing else in the package names a ``proactive/*`` method or a ``proactive.*`` command: they
import them from here. docs/protocol.md is generated from this module
(``scripts/make-protocol-doc.py``, kept current by a test).

The table (:data:`ROUTES`) has one row per input: the LSP method, its params, and two functions,
params → input (the server, and reading ``serve --record`` recordings) and input → params (the
replay over LSP, which plays the editor). Four hand-written translations became this one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

import cattrs
from lsprotocol import types
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError
from pydantic.alias_generators import to_camel
from pygls.exceptions import JsonRpcInvalidParams

from proactive_ls.inputs import (
    MAX_DURATION_MS,
    ChangeInput,
    CloseInput,
    DiagnosticsInput,
    EventInput,
    Input,
    OpenInput,
    SaveInput,
    TerminalInput,
    clean_json,
    clean_text,
)
from proactive_ls.lsp.names import (
    COMMAND_ACCEPT,
    COMMAND_MUTE,
    COMMAND_MUTES,
    COMMAND_PAUSE,
    COMMAND_PROPOSE_NOW,
    COMMAND_REJECT,
    COMMAND_RESUME,
    COMMAND_SNOOZE,
    COMMAND_STATUS,
    COMMAND_UNMUTE,
    COMMANDS,
    DIAGNOSTICS,
    EVENT,
    PROPOSAL,
    PROPOSAL_RESOLVED,
    REPLAY_ADVANCE,
    TERMINAL_COMMAND,
    converter,
)
from proactive_ls.sensing.diagnostics import LspDiagnostic, LspRange
from proactive_ls.sensing.mirror import Encoding
from proactive_ls.sensing.paths import uri_to_path

# -- names (written in lsp/names.py: the start-up path registers them without pydantic) ----------
EXPERIMENTAL_CAPABILITY = "proactive"  # capabilities.experimental.proactive.proposals = true
SNOOZE_DEFAULT_MINUTES = 30
SNOOZE_MAX_MINUTES = 24 * 60
PAUSE_MAX_MINUTES = 366 * 24 * 60


# -- wire models of our own messages ---------------------------------------------------------------
class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TerminalCommandParams(_Wire):
    """A command finished in the editor's terminal."""

    command_line: str = Field(max_length=10_000, description="the command as typed (required)")
    cwd: str | None = Field(default=None, description="the folder it ran in")
    exit_code: int | None = Field(default=None, ge=-(2**31), le=2**31 - 1, description="its exit status")
    output: str = Field(default="", description="the last ≤64 KiB it printed, ANSI colours allowed")
    duration_ms: int | None = Field(default=None, ge=0, le=MAX_DURATION_MS, description="how long it ran")


class DiagnosticsParams(_Wire):
    """Diagnostics that another language server published for a document (this server cannot see them)."""

    uri: str = Field(description="the document")
    diagnostics: list[LspDiagnostic] = Field(
        max_length=10_000, description="the full current set, as in `textDocument/publishDiagnostics`"
    )


class EventParams(RootModel[dict[str, Any]]):
    """Any event of events.md as JSON; `time` (unix seconds) defaults to the moment it arrives."""


class ProposalResolvedParams(_Wire):
    """A proposal stopped being pending (or an unanswered one was answered late), whatever decided it."""

    id: str = Field(description="the proposal")
    outcome: Literal["accepted", "rejected", "ignored", "snoozed"] = Field(
        description="accepted or rejected (a command, a message button, a code action, a mute), ignored "
        "(unanswered for `ignoreAfterS`), or snoozed (a snooze, a pause or a mute, here or in another window)"
    )
    late_by_s: float | None = Field(
        default=None, description="only for an answer to a proposal already ignored or snoozed: how late it came"
    )


class PauseArgs(_Wire):
    minutes: float | None = Field(
        default=None, gt=0, le=PAUSE_MAX_MINUTES, description="how long; absent or null: until resumed"
    )


class MuteArgs(_Wire):
    kind: str | None = Field(default=None, description="a kind (see configuration.md); for unmute, absent: all")
    language: str | None = Field(default=None, description="only in this language (an LSP languageId)")
    glob: str | None = Field(default=None, description="only for documents whose path matches this glob")
    proposal_id: str | None = Field(default=None, description="the proposal it was said of: recorded as rejected")


class AdvanceParams(_Wire):
    """Replay only (`proactive-ls replay --lsp`): move the server's virtual clock."""

    to: float = Field(description="unix seconds; every deadline up to it runs, in order, each at its own time")


class AdvanceResult(_Wire):
    now: float = Field(description="the clock after the advance")
    proposed: list[str] = Field(description="ids of the proposals made (also sent as `proactive/proposal`)")
    filtered: int = Field(description="proposals the judge filtered")


# -- command arguments -----------------------------------------------------------------------------
def proposal_id_argument(args: tuple[Any, ...]) -> str:
    """The id in ``[id]`` or ``[{"id": id}]``."""
    if not args:
        raise JsonRpcInvalidParams("expected the proposal id as the first argument")
    first = args[0]
    if isinstance(first, dict):
        first = first.get("id")
    if not isinstance(first, str):
        raise JsonRpcInvalidParams("the proposal id must be a string")
    return first


def snooze_minutes_argument(args: tuple[Any, ...]) -> float:
    minutes = args[0] if args else SNOOZE_DEFAULT_MINUTES
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not 0 < minutes <= SNOOZE_MAX_MINUTES:
        raise JsonRpcInvalidParams(f"{COMMAND_SNOOZE} takes a number of minutes between 0 and {SNOOZE_MAX_MINUTES}")
    return float(minutes)


def pause_argument(args: tuple[Any, ...]) -> float | None:
    """Minutes from ``[]``, ``[null]``, ``[N]`` or ``[{"minutes": N}]``; None means until resumed."""
    first = args[0] if args else None
    if first is None or isinstance(first, dict):
        try:
            return PauseArgs.model_validate(first or {}).minutes
        except ValidationError:
            pass
    elif isinstance(first, int | float) and not isinstance(first, bool) and 0 < first <= PAUSE_MAX_MINUTES:
        return float(first)
    raise JsonRpcInvalidParams(
        f'{COMMAND_PAUSE} takes {{"minutes": N}} (0 < N <= {PAUSE_MAX_MINUTES}) or nothing (until resumed)'
    )


def mute_argument(args: tuple[Any, ...], command: str = COMMAND_MUTE) -> MuteArgs:
    """``[{"kind": K, "language"?: L, "glob"?: G, "proposalId"?: id}]`` or ``["K"]``."""
    first = args[0] if args else {}
    if isinstance(first, str):
        first = {"kind": first}
    try:
        parsed = MuteArgs.model_validate(first)
    except ValidationError:
        raise JsonRpcInvalidParams(f'{command} takes {{"kind": K, "language"?: L, "glob"?: G}}') from None
    if parsed.kind is None and command == COMMAND_MUTE:
        raise JsonRpcInvalidParams(f'{command} needs a "kind"')
    return parsed


def wants_notifications(capabilities: types.ClientCapabilities | None) -> bool:
    """Did the client declare ``experimental.proactive.proposals = true`` in initialize?"""
    experimental = getattr(capabilities, "experimental", None)
    if not isinstance(experimental, dict):
        return False
    proactive = experimental.get(EXPERIMENTAL_CAPABILITY)
    return isinstance(proactive, dict) and proactive.get("proposals") is True


def client_capabilities(*, proposals: bool = True) -> dict[str, Any]:
    """The experimental capability a client declares to receive proposals as notifications."""
    return {EXPERIMENTAL_CAPABILITY: {"proposals": proposals}}


def position_encoding(negotiated: types.PositionEncodingKind | str | None) -> Encoding:
    """The negotiated position encoding as the mirror names it (LSP's default: UTF-16)."""
    value = str(getattr(negotiated, "value", negotiated) or "utf-16")
    encodings: dict[str, Encoding] = {"utf-8": "utf-8", "utf-32": "utf-32"}
    return encodings.get(value, "utf-16")


def workspace_roots(params: types.InitializeParams) -> list[Path]:
    """The workspace folders of an initialize, else its rootUri, else its rootPath."""
    roots: list[Path] = []
    for folder in params.workspace_folders or []:
        if (path := uri_to_path(folder.uri)) is not None:
            roots.append(path)
    if not roots and params.root_uri and (path := uri_to_path(params.root_uri)) is not None:
        roots.append(path)
    if not roots and params.root_path:
        roots.append(Path(params.root_path))
    return roots


# -- the converter (lsp/names.py) -------------------------------------------------------------------
_CONVERTER = converter()


# -- the table: LSP messages <-> inputs ------------------------------------------------------------
P = TypeVar("P")
I = TypeVar("I", bound=BaseModel)  # noqa: E741 - the input type


class MalformedMessage(ValueError):
    """A message whose params do not fit its method, with a message fit to show the user."""

    def __init__(self, method: str, problem: str) -> None:
        super().__init__(f"{method}: {problem}")
        self.method = method
        self.problem = problem


def describe_problem(exc: Exception) -> str:
    """The first problem of a validation error, in one line."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{first['msg']} at {first['loc']}"
    return str(exc) or exc.__class__.__name__


@dataclass(frozen=True)
class Route(Generic[P, I]):
    """One input and the LSP message that carries it, both ways."""

    method: str
    params_type: type[P]
    input_type: type[I]
    inward: Callable[[P], I]
    outward: Callable[[I], P]

    def input(self, params: Any) -> I:
        """The input of a message's params: lsprotocol objects (as pygls hands them) or JSON.

        Raises :class:`MalformedMessage`.
        """
        try:
            if not isinstance(params, self.params_type):
                params = _structure(clean_json(params), self.params_type)
            return self.inward(params)
        except (ValidationError, ValueError, TypeError, KeyError, cattrs.BaseValidationError) as exc:
            raise MalformedMessage(self.method, describe_problem(exc)) from None

    def params(self, item: I) -> P:
        return self.outward(item)

    def params_json(self, item: I) -> Any:
        return _unstructure(self.outward(item))


def _structure(data: Any, cls: type[Any]) -> Any:
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return cls.model_validate(data)
    return _CONVERTER.structure(data, cls)


def _unstructure(params: Any) -> Any:
    if isinstance(params, RootModel):
        return params.model_dump(mode="json")
    if isinstance(params, BaseModel):
        return params.model_dump(mode="json", by_alias=True, exclude_none=True)
    return _CONVERTER.unstructure(params)


def _lsp_range(r: LspRange) -> types.Range:
    return types.Range(
        start=types.Position(line=r.start.line, character=r.start.character),
        end=types.Position(line=r.end.line, character=r.end.character),
    )


def _change_in(p: types.DidChangeTextDocumentParams) -> ChangeInput:
    # On the keystroke path: one validation of plain data is cheaper than building each model.
    changes: list[dict[str, Any]] = []
    for c in p.content_changes:
        if isinstance(c, types.TextDocumentContentChangePartial):
            start, end = c.range.start, c.range.end
            rng = {
                "start": {"line": start.line, "character": start.character},
                "end": {"line": end.line, "character": end.character},
            }
            changes.append({"range": rng, "text": clean_text(c.text)})
        else:
            changes.append({"text": clean_text(c.text)})
    return ChangeInput.model_validate(
        {"uri": clean_text(p.text_document.uri), "version": p.text_document.version, "changes": changes}
    )


def _change_out(item: ChangeInput) -> types.DidChangeTextDocumentParams:
    changes: list[types.TextDocumentContentChangeEvent] = [
        types.TextDocumentContentChangeWholeDocument(text=c.text)
        if c.range is None
        else types.TextDocumentContentChangePartial(range=_lsp_range(c.range), text=c.text)
        for c in item.changes
    ]
    doc = types.VersionedTextDocumentIdentifier(uri=item.document_uri(), version=item.version)
    return types.DidChangeTextDocumentParams(text_document=doc, content_changes=changes)


def _open_in(p: types.DidOpenTextDocumentParams) -> OpenInput:
    d = p.text_document
    return OpenInput(
        uri=clean_text(d.uri), language_id=clean_text(d.language_id), version=d.version, text=clean_text(d.text)
    )


def _open_out(item: OpenInput) -> types.DidOpenTextDocumentParams:
    d = types.TextDocumentItem(
        uri=item.document_uri(), language_id=item.language_id, version=item.version, text=item.text or ""
    )
    return types.DidOpenTextDocumentParams(text_document=d)


def _document(item: SaveInput | CloseInput) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=item.document_uri())


def _terminal_in(p: TerminalCommandParams) -> TerminalInput:
    return TerminalInput(
        command_line=p.command_line, cwd=p.cwd, exit_code=p.exit_code, output=p.output, duration_ms=p.duration_ms
    )


def _terminal_out(item: TerminalInput) -> TerminalCommandParams:
    return TerminalCommandParams(
        command_line=item.command_line,
        cwd=item.cwd,
        exit_code=item.exit_code,
        output=item.output_tail(),
        duration_ms=item.duration_ms,
    )


OPEN: Route[types.DidOpenTextDocumentParams, OpenInput] = Route(
    types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams, OpenInput, _open_in, _open_out
)
CHANGE: Route[types.DidChangeTextDocumentParams, ChangeInput] = Route(
    types.TEXT_DOCUMENT_DID_CHANGE, types.DidChangeTextDocumentParams, ChangeInput, _change_in, _change_out
)
SAVE: Route[types.DidSaveTextDocumentParams, SaveInput] = Route(
    types.TEXT_DOCUMENT_DID_SAVE,
    types.DidSaveTextDocumentParams,
    SaveInput,
    lambda p: SaveInput(uri=clean_text(p.text_document.uri), text=None if p.text is None else clean_text(p.text)),
    lambda item: types.DidSaveTextDocumentParams(text_document=_document(item), text=item.text),
)
CLOSE: Route[types.DidCloseTextDocumentParams, CloseInput] = Route(
    types.TEXT_DOCUMENT_DID_CLOSE,
    types.DidCloseTextDocumentParams,
    CloseInput,
    lambda p: CloseInput(uri=clean_text(p.text_document.uri)),
    lambda item: types.DidCloseTextDocumentParams(text_document=_document(item)),
)
TERMINAL: Route[TerminalCommandParams, TerminalInput] = Route(
    TERMINAL_COMMAND, TerminalCommandParams, TerminalInput, _terminal_in, _terminal_out
)
DIAGNOSTICS_ROUTE: Route[DiagnosticsParams, DiagnosticsInput] = Route(
    DIAGNOSTICS,
    DiagnosticsParams,
    DiagnosticsInput,
    lambda p: DiagnosticsInput(uri=p.uri, diagnostics=p.diagnostics),
    lambda item: DiagnosticsParams(uri=item.document_uri(), diagnostics=item.diagnostics),
)
EVENT_ROUTE: Route[EventParams, EventInput] = Route(
    EVENT,
    EventParams,
    EventInput,
    lambda p: EventInput(event=p.root),
    lambda item: EventParams(item.event),
)

ROUTES: tuple[Route[Any, Any], ...] = (OPEN, CHANGE, SAVE, CLOSE, TERMINAL, DIAGNOSTICS_ROUTE, EVENT_ROUTE)
ROUTE_BY_METHOD: dict[str, Route[Any, Any]] = {r.method: r for r in ROUTES}
_ROUTE_BY_INPUT: dict[type[BaseModel], Route[Any, Any]] = {r.input_type: r for r in ROUTES}


def route_of(item: Input) -> Route[Any, Any]:
    return _ROUTE_BY_INPUT[type(item)]


def message_of(item: Input) -> tuple[str, Any]:
    """The LSP method and params (lsprotocol objects or JSON) an editor sends for this input."""
    route = route_of(item)
    params = route.params(item)
    return route.method, params if not isinstance(params, BaseModel) else _unstructure(params)


def input_of(method: str, params: Any) -> Input | None:
    """The input a message carries, None for a message that carries none; raises MalformedMessage."""
    route = ROUTE_BY_METHOD.get(method)
    return None if route is None else cast(Input, route.input(params))


# -- for the documentation -------------------------------------------------------------------------
@dataclass(frozen=True)
class MessageDoc:
    method: str
    direction: Literal["client → server", "server → client"]
    kind: Literal["notification", "request"]
    params: type[BaseModel] | None
    text: str
    example: str = ""


MESSAGES: tuple[MessageDoc, ...] = (
    MessageDoc(
        TERMINAL_COMMAND,
        "client → server",
        "notification",
        TerminalCommandParams,
        "The output is parsed for failures (pytest, Python tracebacks, unittest, mypy, tsc, eslint, go, "
        "cargo/rustc, gcc/clang, javac, node) and is redacted before it enters the history.",
        '{"commandLine": "pytest -x", "cwd": "/home/me/project", "exitCode": 1,\n'
        ' "output": "<the last ≤64 KiB the command printed, ANSI colours allowed>", "durationMs": 2300}',
    ),
    MessageDoc(
        DIAGNOSTICS,
        "client → server",
        "notification",
        DiagnosticsParams,
        "Send the full current set for the document each time (as `textDocument/publishDiagnostics` does). "
        "Only meaningful changes (errors that appear or are resolved, not moved lines) become events.",
        '{"uri": "file:///home/me/project/parser.py",\n'
        ' "diagnostics": [{"range": {"start": {"line": 11, "character": 4}, "end": {"line": 11, "character": 9}},\n'
        '                  "message": "\\"totl\\" is not defined", "severity": 1, "source": "Pyright"}]}',
    ),
    MessageDoc(
        EVENT,
        "client → server",
        "notification",
        EventParams,
        "For clients that see what the server cannot (a browser, another tool). It is redacted like every "
        "other event. `proactive-ls replay --lsp` uses it to replay ProactiveBench traces through the server.",
        '{"kind": "observation", "text": "The user opens the browser."}\n'
        '{"kind": "git.commit", "sha": "3f2a9c8", "summary": "Read files lazily"}',
    ),
    MessageDoc(
        PROPOSAL,
        "server → client",
        "notification",
        None,
        "Only to clients that declared `capabilities.experimental.proactive.proposals: true`. The params are "
        "the proposal (fields below). `operation.kind` is one of `open_location` (accepting sends "
        "`window/showDocument` with the selection), `show_markdown` (accepting writes the text to a file in "
        "the data folder and opens it), `apply_edit` (accepting shows the edit in full and applies it once "
        "the user confirms it, see Edits below) and `model_task` (accepting asks the model to carry the task "
        "out; its answer becomes one of the others). Nothing is done before the user accepts.",
    ),
    MessageDoc(
        PROPOSAL_RESOLVED,
        "server → client",
        "notification",
        ProposalResolvedParams,
        "Sent to every client whenever a proposal stops being pending, whatever decided it: this client's "
        "command or code action, a message button, the ignore timeout, a snooze, a pause or a mute (also "
        "one made in another window), so each client can withdraw what it shows. An answer to a proposal "
        "already recorded as ignored or snoozed is recorded and announced with `lateByS`.",
        '{"id": "3f2a9c81d0e4", "outcome": "ignored"}\n{"id": "3f2a9c81d0e4", "outcome": "accepted", "lateByS": 340.2}',
    ),
    MessageDoc(
        REPLAY_ADVANCE,
        "client → server",
        "request",
        AdvanceParams,
        "Only on the replay server (`python -m proactive_ls.replay.over_lsp`, a virtual clock that only the "
        f"client moves). The server sends the proposals as `{PROPOSAL}` before it answers with "
        '`{"now", "proposed", "filtered"}`.',
        '{"to": 1764000012.0}',
    ),
)


__all__ = [
    "AdvanceParams",
    "AdvanceResult",
    "COMMANDS",
    "COMMAND_ACCEPT",
    "COMMAND_REJECT",
    "COMMAND_SNOOZE",
    "COMMAND_STATUS",
    "COMMAND_PAUSE",
    "COMMAND_RESUME",
    "COMMAND_MUTE",
    "COMMAND_UNMUTE",
    "COMMAND_MUTES",
    "COMMAND_PROPOSE_NOW",
    "MuteArgs",
    "PauseArgs",
    "mute_argument",
    "pause_argument",
    "DIAGNOSTICS",
    "DiagnosticsParams",
    "EVENT",
    "EventParams",
    "MESSAGES",
    "MalformedMessage",
    "PROPOSAL",
    "PROPOSAL_RESOLVED",
    "ProposalResolvedParams",
    "REPLAY_ADVANCE",
    "ROUTES",
    "Route",
    "TERMINAL_COMMAND",
    "TerminalCommandParams",
    "client_capabilities",
    "converter",
    "describe_problem",
    "input_of",
    "message_of",
    "proposal_id_argument",
    "snooze_minutes_argument",
    "wants_notifications",
    "workspace_roots",
]
