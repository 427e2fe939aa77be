"""Helpers for end-to-end tests: a real pytest-lsp client talking to `proactive-ls serve` over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, LanguageClient, register_lsp_features

from proactive_ls.config import FEEDBACK_LOG_ENV
from proactive_ls.lsp import protocol


def _client_converter():  # type: ignore[no-untyped-def]
    """The server's converter, plus a fix for lsprotocol reading every CodeAction that has a
    command as a Command (its hook only checks that the key exists; a Command's is a string)."""
    converter = protocol.converter()

    def code_action_or_command(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, code_action_or_command)
    return converter


SERVER_COMMAND = [sys.executable, "-m", "proactive_ls", "serve", "--log-level", "warning"]

FAST_SETTINGS: dict[str, Any] = {
    "quietPeriodMs": 150,
    "editQuietMs": 100,
    "minIntervalS": 0,
    "rejectCooldownS": 0,
    "ignoreAfterS": 60,
    "maxPerHour": 100,
}

Answer = Callable[[types.ShowMessageRequestParams], str | None]


class ProactiveClient(LanguageClient):
    """A pytest-lsp client that keeps our own messages as plain JSON and records what it is asked."""

    def __init__(self) -> None:
        super().__init__(converter_factory=_client_converter)
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.proposals: list[dict[str, Any]] = []
        self.registrations: list[types.Registration] = []
        self.resolved: list[dict[str, Any]] = []
        self.answer: Answer = lambda params: None
        self.can_show_documents = True  # False: window/showDocument answers success=false, as an editor that cannot
        #: How the "editor" answers workspace/applyEdit (True: applied); a test may apply the edit to disk here.
        self.edit_answer: Callable[[types.ApplyWorkspaceEditParams], bool] = lambda params: True
        self._arrived = asyncio.Condition()

    async def note(self, bucket: list[Any], item: Any) -> None:
        async with self._arrived:
            bucket.append(item)
            self._arrived.notify_all()

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait for something the server sends (no fixed sleeps): returns predicate()'s truthy value."""

        async def _wait() -> Any:
            async with self._arrived:
                while not (value := predicate()):
                    await self._arrived.wait()
                return value

        return await asyncio.wait_for(_wait(), timeout)

    async def next_proposal(self, timeout: float = 15.0) -> dict[str, Any]:
        seen = len(self.proposals)
        return await self.wait_until(lambda: self.proposals[seen] if len(self.proposals) > seen else None, timeout)

    async def execute(self, command: str, *arguments: Any) -> Any:
        return await self.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=list(arguments))
        )


def make_client() -> ProactiveClient:
    client = ProactiveClient()
    ours = {
        types.CLIENT_REGISTER_CAPABILITY,
        types.WINDOW_SHOW_DOCUMENT,
        types.WINDOW_SHOW_MESSAGE,
        types.WINDOW_SHOW_MESSAGE_REQUEST,
        types.WORKSPACE_APPLY_EDIT,
    }
    register_lsp_features(client, {m: f for m, f in DEFAULT_CLIENT_FEATURES.items() if m not in ours})

    @client.feature(protocol.PROPOSAL)
    async def _proposal(ls: ProactiveClient, params: Any) -> None:
        await ls.note(ls.proposals, params)

    @client.feature(protocol.PROPOSAL_RESOLVED)
    async def _resolved(ls: ProactiveClient, params: Any) -> None:
        await ls.note(ls.resolved, params)

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    async def _request(ls: ProactiveClient, params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        await ls.note(ls.message_requests, params)
        title = ls.answer(params)
        return types.MessageActionItem(title=title) if title else None

    @client.feature(types.WINDOW_SHOW_DOCUMENT)
    async def _show(ls: ProactiveClient, params: types.ShowDocumentParams) -> types.ShowDocumentResult:
        await ls.note(ls.shown_documents, params)
        return types.ShowDocumentResult(success=ls.can_show_documents)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    async def _apply(ls: ProactiveClient, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        await ls.note(ls.applied_edits, params)
        return types.ApplyWorkspaceEditResult(applied=ls.edit_answer(params))

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    async def _register(ls: ProactiveClient, params: types.RegistrationParams) -> None:
        for registration in params.registrations:
            await ls.note(ls.registrations, registration)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    async def _message(ls: ProactiveClient, params: types.ShowMessageParams) -> None:
        await ls.note(ls.messages, params)

    return client


def capabilities(
    experimental: bool = True,
    watch_files: bool = False,
    configuration: bool = False,
    work_done_progress: bool = False,
    edit_annotations: bool = False,
) -> types.ClientCapabilities:
    """`edit_annotations`: the client previews edits whose change annotations need confirmation (VS Code)."""
    workspace_edit = (
        types.WorkspaceEditClientCapabilities(
            document_changes=True,
            change_annotation_support=types.ChangeAnnotationsSupportOptions(groups_on_label=True),
        )
        if edit_annotations
        else None
    )
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(
            show_document=types.ShowDocumentClientCapabilities(support=True),
            show_message=types.ShowMessageRequestClientCapabilities(),
            work_done_progress=work_done_progress or None,
        ),
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            workspace_edit=workspace_edit,
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=watch_files),
            configuration=configuration or None,
        ),
        experimental=protocol.client_capabilities() if experimental else None,
    )


async def start_session(
    root: Path,
    feedback_log: Path,
    *,
    experimental: bool = True,
    watch_files: bool = False,
    settings: dict[str, Any] | None = None,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    configuration: dict[str, Any] | None = None,
    work_done_progress: bool = False,
    edit_annotations: bool = False,
) -> ProactiveClient:
    """Start the real server as a subprocess and initialize it for the folder `root`.

    `configuration`: the client supports ``workspace/configuration`` and answers with it (the
    whole configuration object, sections by name); `work_done_progress`: it accepts ``$/progress``.
    The log is set as the user sets one outside the data folder and the workspace: in the server's
    environment (``PROACTIVE_LS_FEEDBACK_LOG``), which a client's ``feedbackLog`` cannot override.
    """
    client = make_client()
    if configuration is not None:
        client.set_configuration(configuration)
    if env is None:  # the user's own pause and mutes (the data folder) must not reach a test's server
        env = {**os.environ, "XDG_DATA_HOME": str(feedback_log.parent / "data")}
    env = {**env, FEEDBACK_LOG_ENV: str(feedback_log)}
    await client.start_io(*(command or SERVER_COMMAND), env=env)
    options = {**FAST_SETTINGS, **(settings or {})}
    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(
                experimental, watch_files, configuration is not None, work_done_progress, edit_annotations
            ),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options,
        )
    )
    return client


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """For what no message announces (a file on disk, a counter in the status): poll until check()
    is truthy. `check` may be a coroutine function."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
