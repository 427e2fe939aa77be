"""How proposals look in LSP: code actions, message requests, and what accepting sends.

Conversions only; the server decides when to send them.
"""

from __future__ import annotations

import re
from pathlib import Path

import cattrs
from lsprotocol import types

from proactive_ls.config import data_dir
from proactive_ls.lsp.protocol import COMMAND_ACCEPT, COMMAND_REJECT
from proactive_ls.proposals import ApplyEdit, OpenLocation, Proposal, Range, ShowMarkdown

ACCEPT, REJECT, NOT_NOW = "Accept", "Reject", "Not now"


def lsp_range(r: Range) -> types.Range:
    return types.Range(
        start=types.Position(line=r.start.line, character=r.start.character),
        end=types.Position(line=r.end.line, character=r.end.character),
    )


def _overlaps(a: types.Range, b: Range) -> bool:
    a_start, a_end = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b_start, b_end = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a_start <= b_end and b_start <= a_end


def code_actions(proposals: list[Proposal], uri: str, rng: types.Range) -> list[types.CodeAction]:
    """Accept and dismiss actions for the pending proposals that concern this document and range."""
    actions: list[types.CodeAction] = []
    for p in proposals:
        if p.anchor is not None:
            if p.anchor.uri != uri or not _overlaps(rng, p.anchor.range):
                continue
        actions.append(
            types.CodeAction(
                title=f"Proactive: {p.task}",
                kind=types.CodeActionKind.QuickFix,
                is_preferred=True,
                command=types.Command(title=p.task, command=COMMAND_ACCEPT, arguments=[p.id]),
                data={"proposalId": p.id},
            )
        )
        actions.append(
            types.CodeAction(
                title=f"Proactive: dismiss “{p.task}”",
                kind=types.CodeActionKind.Empty,
                command=types.Command(title="Dismiss", command=COMMAND_REJECT, arguments=[p.id]),
                data={"proposalId": p.id},
            )
        )
    return actions


def message_request(p: Proposal) -> types.ShowMessageRequestParams:
    return types.ShowMessageRequestParams(
        type=types.MessageType.Info,
        message=p.message,
        actions=[types.MessageActionItem(title=t) for t in (ACCEPT, REJECT, NOT_NOW)],
    )


def show_location(op: OpenLocation) -> types.ShowDocumentParams:
    return types.ShowDocumentParams(uri=op.uri, take_focus=True, selection=lsp_range(op.range))


def markdown_file(p: Proposal, op: ShowMarkdown, folder: Path | None = None) -> Path:
    """Write the text to a file the editor can open; named after the proposal, kept with the user's data."""
    folder = folder or data_dir() / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", op.title.lower()).strip("-")[:40] or "proposal"
    path = folder / f"{p.id}-{slug}.md"
    path.write_text(op.markdown if op.markdown.endswith("\n") else op.markdown + "\n", encoding="utf-8")
    return path


def show_markdown(p: Proposal, op: ShowMarkdown, folder: Path | None = None) -> types.ShowDocumentParams:
    return types.ShowDocumentParams(uri=markdown_file(p, op, folder).as_uri(), take_focus=True)


def apply_edit(op: ApplyEdit, converter: cattrs.Converter) -> types.ApplyWorkspaceEditParams:
    edit = converter.structure(op.edit, types.WorkspaceEdit)
    return types.ApplyWorkspaceEditParams(edit=edit, label=op.label)
