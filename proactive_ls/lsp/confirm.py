"""How an edit is shown for confirmation before it is applied: conversions only, the server sends them.

An edit a model wrote is applied only after the user has seen all of it and said yes:

- a client that advertises ``workspace.workspaceEdit.changeAnnotationSupport`` (and
  ``documentChanges``) gets ``workspace/applyEdit`` whose text edits are AnnotatedTextEdits of one
  ChangeAnnotation with ``needsConfirmation: true``: VS Code opens its Refactor Preview and
  answers ``applied`` only when the user applies it;
- any other client (Neovim 0.11 advertises neither) first gets ``window/showMessageRequest``
  with the full unified diff and the actions Apply / Cancel; the edit is sent only on Apply.

Model text in the preview goes through the sanitizer (``llm/sanitize.py``): no control or escape
sequences, links as text.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from proactive_ls.llm.sanitize import clean
from proactive_ls.proposals import ApplyEdit, Proposal

APPLY, CANCEL = "Apply edit", "Cancel"
ANNOTATION_ID = "proactive-ls.model-edit"
#: A preview longer than this is not shown cut: the edit is refused instead (the executor's bounds
#: keep a real one far below it).
PREVIEW_CHARS = 200_000


def wants_annotations(capabilities: types.ClientCapabilities | None) -> bool:
    """Can the client show an edit for confirmation itself (change annotations in document changes)?"""
    workspace = capabilities.workspace if capabilities else None
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.change_annotation_support is not None and edit.document_changes)


def _range(raw: dict[str, Any]) -> types.Range:
    start, end = raw["start"], raw["end"]
    return types.Range(
        start=types.Position(line=int(start["line"]), character=int(start["character"])),
        end=types.Position(line=int(end["line"]), character=int(end["character"])),
    )


def annotated_edit(proposal: Proposal, op: ApplyEdit) -> types.ApplyWorkspaceEditParams:
    """The edit as document changes whose every text edit needs the user's confirmation."""
    if op.edit.get("documentChanges"):
        raise ValueError("the edit has document changes that cannot be annotated")
    changes: list[types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile] = [
        types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=[
                types.AnnotatedTextEdit(
                    range=_range(e["range"]), new_text=str(e["newText"]), annotation_id=ANNOTATION_ID
                )
                for e in edits
            ],
        )
        for uri, edits in (op.edit.get("changes") or {}).items()
    ]
    label = clean(op.label, 300)
    annotation = types.ChangeAnnotation(
        label=label,
        needs_confirmation=True,
        description=clean(f"proactive-ls: the edit proposed for “{proposal.task}”; apply it or discard it", 600),
    )
    return types.ApplyWorkspaceEditParams(
        edit=types.WorkspaceEdit(document_changes=changes, change_annotations={ANNOTATION_ID: annotation}),
        label=label,
    )


def preview_request(proposal: Proposal, op: ApplyEdit, diff: str) -> types.ShowMessageRequestParams:
    """The question a client without annotations is asked: the whole diff, then Apply or Cancel."""
    message = clean(
        # The question last: Neovim's menu appends ": " to the message, which must not read as code.
        f"proactive-ls: {op.label} (the edit for “{proposal.task}”)\n\n{diff.rstrip()}\n\nApply this edit?",
        PREVIEW_CHARS + 1,
    )
    if len(message) > PREVIEW_CHARS:
        raise ValueError("the edit is too large to show in full")
    return types.ShowMessageRequestParams(
        type=types.MessageType.Info,
        message=message,
        actions=[types.MessageActionItem(title=APPLY), types.MessageActionItem(title=CANCEL)],
    )


__all__ = ["ANNOTATION_ID", "APPLY", "CANCEL", "annotated_edit", "preview_request", "wants_annotations"]
