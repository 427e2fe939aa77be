"""How proposals look in LSP: code actions, message requests, and what accepting sends.

Conversions only; the server decides when to send them.
"""

from __future__ import annotations

import re
from pathlib import Path

import cattrs
from lsprotocol import types

from proactive_ls.config import data_dir
from proactive_ls.lsp.names import CODE_ACTION_KIND  # lsp/names.py says why it is that kind
from proactive_ls.lsp.protocol import COMMAND_ACCEPT, COMMAND_MUTE, COMMAND_REJECT
from proactive_ls.private_files import write_private
from proactive_ls.proposals import ApplyEdit, OpenLocation, Proposal, Range, ShowMarkdown

ACCEPT, REJECT, NOT_NOW, MUTE = "Accept", "Reject", "Not now", "Don't suggest this kind again"


def lsp_range(r: Range) -> types.Range:
    return types.Range(
        start=types.Position(line=r.start.line, character=r.start.character),
        end=types.Position(line=r.end.line, character=r.end.character),
    )


def _on_anchor_lines(rng: types.Range, anchor: Range) -> bool:
    """Does the requested range touch a line of the anchor? The whole line counts, not only the
    anchor's characters, so the action is there wherever the cursor is on that line."""
    return rng.start.line <= anchor.end.line and anchor.start.line <= rng.end.line


def wanted(only: list[str] | None) -> bool:
    """Does a request restricted to `only` kinds (``context.only``) include ours?"""
    if not only:
        return True
    return any(CODE_ACTION_KIND == k or CODE_ACTION_KIND.startswith(k + ".") or k == "" for k in only)


def code_actions(
    proposals: list[Proposal], uri: str, rng: types.Range, only: list[str] | None = None
) -> list[types.CodeAction]:
    """Accept, dismiss and mute actions for the pending proposals that concern this document and line."""
    if not wanted(only):
        return []
    actions: list[types.CodeAction] = []
    for p in proposals:
        if p.anchor is not None:
            if p.anchor.uri != uri or not _on_anchor_lines(rng, p.anchor.range):
                continue
        for title, command, arguments in (
            (f"Proactive: {p.task}", COMMAND_ACCEPT, [p.id]),
            (f"Proactive: dismiss “{p.task}”", COMMAND_REJECT, [p.id]),
            (f"Proactive: {MUTE.lower()} ({p.kind})", COMMAND_MUTE, [{"kind": p.kind, "proposalId": p.id}]),
        ):
            actions.append(
                types.CodeAction(
                    title=title,
                    kind=CODE_ACTION_KIND,
                    command=types.Command(title=title, command=command, arguments=arguments),
                    data={"proposalId": p.id},
                )
            )
    return actions


def message_request(p: Proposal) -> types.ShowMessageRequestParams:
    return types.ShowMessageRequestParams(
        type=types.MessageType.Info,
        message=p.message,
        actions=[types.MessageActionItem(title=t) for t in (ACCEPT, REJECT, NOT_NOW, MUTE)],
    )


def message(p: Proposal) -> types.ShowMessageParams:
    """The non-blocking announcement for a client without the proposals capability: it says where
    to answer (the code action), and takes no keys from the user."""
    where = " (a code action on that line)" if p.anchor is not None else " (a code action)"
    return types.ShowMessageParams(
        type=types.MessageType.Info,
        message=f"proactive-ls: {p.message} Accept with “Proactive: {p.task}”{where}.",
    )


def show_location(op: OpenLocation) -> types.ShowDocumentParams:
    return types.ShowDocumentParams(uri=op.uri, take_focus=True, selection=lsp_range(op.range))


def markdown_file(p: Proposal, op: ShowMarkdown, folder: Path | None = None) -> Path:
    """Write the text to a file the editor can open (0600); named after the proposal, in the user's
    data folder. The server that wrote it removes it when it shuts down."""
    folder = folder or data_dir() / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", op.title.lower()).strip("-")[:40] or "proposal"
    path = folder / f"{p.id}-{slug}.md"
    write_private(path, op.markdown if op.markdown.endswith("\n") else op.markdown + "\n")
    return path


def show_markdown(p: Proposal, op: ShowMarkdown, folder: Path | None = None) -> types.ShowDocumentParams:
    return types.ShowDocumentParams(uri=markdown_file(p, op, folder).as_uri(), take_focus=True)


def apply_edit(op: ApplyEdit, converter: cattrs.Converter) -> types.ApplyWorkspaceEditParams:
    edit = converter.structure(op.edit, types.WorkspaceEdit)
    return types.ApplyWorkspaceEditParams(edit=edit, label=op.label)
