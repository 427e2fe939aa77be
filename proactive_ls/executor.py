"""Carrying out an accepted model task: a second request whose answer is a text to show or an edit.

Nothing here runs before the user accepts the proposal. The model answers one of two shapes,
told apart by ``kind`` and forced by structured output:

- ``{"kind": "markdown", "title", "markdown"}`` → :class:`ShowMarkdown` (opened with window/showDocument);
- ``{"kind": "edit", "label", "explanation", "edits": [{"document", "startLine", "endLine", "newText"}]}``
  → :class:`ApplyEdit` with a WorkspaceEdit, shown in full and applied once the user confirms it.

Those two are the allowlist (``ALLOWED_OPERATIONS``): an answer that asks for anything else (a
command to run) is refused, and nothing runs.

Edits are whole-line replacements (1-based, inclusive; ``endLine = startLine - 1`` inserts before
``startLine``), because models count lines far more reliably than UTF-16 columns. An edit may
only touch documents the history names (the proposal's anchor, or a quoted path of an observation
resolved against a workspace root) whose text ``document_text`` can give; lines must exist;
edits must not overlap. An edit that breaks a rule is not applied: the answer is shown as markdown
instead, with the reason and the proposed text, so nothing is lost and nothing unexpected changes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlparse

import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

from proactive_ls.config import ModelEndpoint
from proactive_ls.llm.client import ModelClient, ModelError
from proactive_ls.llm.prompt import dumps
from proactive_ls.llm.sanitize import MARKDOWN_CHARS, MESSAGE_CHARS, TASK_CHARS, clean, strip_controls
from proactive_ls.llm.schema import AnswerError, extract_json_object, response_format
from proactive_ls.proposals import ApplyEdit, Proposal, ShowMarkdown

EXECUTOR_SYSTEM_PROMPT = """<Role> You are a helpful assistant that carries out a task the user has just accepted. </Role>

<Task> The user accepted the task you proposed from the events you observed. Carry it out now, in one answer: either a markdown document for the user to read (an explanation, a summary, a plan, a command to run), or an edit of the documents shown to you. </Task>

<Format> Respond with one JSON object, either
{"kind": "markdown", "title": "A short title.", "markdown": "The document, in markdown."}
or
{"kind": "edit", "label": "A short label of the change.", "explanation": "What the edit does and why.", "edits": [{"document": "A document name exactly as shown", "startLine": 1, "endLine": 1, "newText": "The new text of those lines, ending with a newline."}]}
</Format>

<Rules>
- Edit only the documents shown, by their names as shown; never invent a document.
- Lines are numbered from 1 as shown; startLine..endLine (inclusive) are replaced by newText; endLine = startLine - 1 inserts newText before startLine.
- Keep edits small and focused on the accepted task; do not overlap edits.
- When the task is not an edit of the shown documents, answer with markdown.
</Rules>"""

EXEC_INSTRUCTIONS = "Carry out the accepted task now."
MAX_DOCUMENTS = 3
MAX_DOCUMENT_LINES = 300
MAX_DOCUMENT_CHARS = 8_000
MAX_EDITS = 3
#: What a model may ask for when it carries a task out; anything else (a command to run, a file to
#: write) is refused, and the edit is shown in full for confirmation before it is applied.
ALLOWED_OPERATIONS = ("markdown", "edit")
_QUOTED = re.compile(r"'([^'\s][^']{0,300})'")


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class MarkdownAnswer(_Model):
    kind: Literal["markdown"]
    title: str = Field(default="", max_length=300)
    markdown: str

    @field_validator("title", "markdown", mode="after")
    @classmethod
    def _as_data(cls, v: str, info: ValidationInfo) -> str:
        """Model output is data: no control sequences, no command: links, bounded (llm/sanitize.py)."""
        return clean(v, TASK_CHARS if info.field_name == "title" else MARKDOWN_CHARS)


class LineEdit(_Model):
    document: str
    start_line: int = Field(alias="startLine", ge=1)
    end_line: int = Field(alias="endLine", ge=0)
    new_text: str = Field(alias="newText")

    @field_validator("new_text", mode="after")
    @classmethod
    def _no_controls(cls, v: str) -> str:
        """The preview shows exactly what is applied: no escape sequences or bidi overrides in code."""
        return strip_controls(v)


class EditAnswer(_Model):
    kind: Literal["edit"]
    label: str = ""
    explanation: str = ""
    edits: list[LineEdit] = Field(default_factory=list, max_length=200)

    @field_validator("label", "explanation", mode="after")
    @classmethod
    def _as_data(cls, v: str, info: ValidationInfo) -> str:
        return clean(v, TASK_CHARS if info.field_name == "label" else MESSAGE_CHARS)


ExecAnswer = Annotated[MarkdownAnswer | EditAnswer, Field(discriminator="kind")]
_ExecAdapter: TypeAdapter[MarkdownAnswer | EditAnswer] = TypeAdapter(ExecAnswer)


def exec_schema(max_tokens: int, chars_per_token: float = 1.5) -> dict[str, Any]:
    """The executor's answer schema, each string bounded so that either shape closes within ``max_tokens``.

    The bound assumes 1.5 characters a token (escapes and short tokens cost more than prose); a
    real model stays well inside it, a random one just fits.
    """
    chars = max(400, int((max_tokens - 64) * chars_per_token))
    explanation = min(600, chars // 6)
    doc_name = 120
    edits = max(1, min(MAX_EDITS, (chars - 120 - explanation) // (doc_name + 60 + 200)))
    new_text = max(80, (chars - 120 - explanation - edits * (doc_name + 60)) // edits)
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["markdown"]},
                    "title": {"type": "string", "maxLength": 120},
                    "markdown": {"type": "string", "minLength": 1, "maxLength": max(200, chars - 160)},
                },
                "required": ["kind", "title", "markdown"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["edit"]},
                    "label": {"type": "string", "maxLength": 120},
                    "explanation": {"type": "string", "maxLength": explanation},
                    "edits": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": edits,
                        "items": {
                            "type": "object",
                            "properties": {
                                "document": {"type": "string", "maxLength": doc_name},
                                "startLine": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
                                "endLine": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
                                "newText": {"type": "string", "maxLength": new_text},
                            },
                            "required": ["document", "startLine", "endLine", "newText"],
                            "additionalProperties": False,
                        },
                    },
                },
                "required": ["kind", "label", "explanation", "edits"],
                "additionalProperties": False,
            },
        ]
    }


def parse_exec_answer(text: str) -> MarkdownAnswer | EditAnswer:
    """Parse the executor's reply (tolerant like the proposer's); raises AnswerError."""
    obj = extract_json_object(text)
    if "kind" not in obj:
        obj["kind"] = "edit" if "edits" in obj else "markdown"
    if obj["kind"] not in ALLOWED_OPERATIONS:
        kind = clean(str(obj["kind"]), 80)
        raise AnswerError(f"the model asked for an operation that is not allowed ({kind!r}; allowed: markdown, edit)")
    try:
        return _ExecAdapter.validate_python(obj)
    except ValueError as exc:
        raise AnswerError(f"the answer does not match the schema ({str(exc).splitlines()[0]})") from exc


# -- documents the history names ------------------------------------------------------------------


def _root_uri(root: str) -> str:
    return root.rstrip("/") if "://" in root else Path(root).resolve().as_uri()


def _uri_path(uri: str) -> str:
    return unquote(urlparse(uri).path) if "://" in uri else uri


def candidate_documents(proposal: Proposal, workspace_roots: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(name shown to the model, URI) of the documents the history names, anchor first."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(name: str, uri: str) -> None:
        if uri not in seen:
            seen.add(uri)
            out.append((name, uri))

    if proposal.anchor is not None:
        uri = proposal.anchor.uri
        name = _uri_path(uri)
        for root in workspace_roots:
            prefix = _uri_path(_root_uri(root)).rstrip("/") + "/"
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        add(name, uri)
    names: list[str] = []
    for step in reversed(proposal.observations):  # the most recent mentions first
        for quoted in _QUOTED.findall(step.get("Event", "")):
            if ("/" in quoted or "." in quoted) and " " not in quoted and quoted not in names:
                names.append(quoted)
    for name in names:
        if "://" in name:
            add(_uri_path(name), name)
            continue
        for root in workspace_roots:
            add(name, _root_uri(root) + "/" + quote(name.lstrip("/")))
    return out


def _numbered(text: str, max_lines: int) -> tuple[str, int]:
    lines = text.splitlines()
    shown = lines[:max_lines]
    body = "\n".join(f"{i:>5}| {line}" for i, line in enumerate(shown, start=1))
    if len(lines) > max_lines:
        body += f"\n  ... ({len(lines) - max_lines} more lines not shown)"
    return body, len(shown)


def _utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _text_edit(text: str, edit: LineEdit) -> dict[str, Any]:
    """A whole-line replacement as an LSP TextEdit (0-based lines, UTF-16 characters)."""
    parts = text.split("\n")  # "a\nb\n" -> ["a", "b", ""]: the position after the last newline exists
    new_text = edit.new_text
    if edit.end_line < len(parts):
        if new_text and not new_text.endswith("\n"):
            new_text += "\n"
        start = {"line": edit.start_line - 1, "character": 0}
        end = {"line": edit.end_line, "character": 0}
    else:  # the edit reaches the last line of a document without a final newline
        last = len(parts) - 1
        end = {"line": last, "character": _utf16(parts[last])}
        new_text = new_text[:-1] if new_text.endswith("\n") else new_text
        if edit.start_line - 1 > last:  # appending after that last line
            start = dict(end)
            new_text = "\n" + new_text
        else:
            start = {"line": edit.start_line - 1, "character": 0}
    return {"range": {"start": start, "end": end}, "newText": new_text}


def build_edit(answer: EditAnswer, shown: dict[str, tuple[str, str, int]]) -> dict[str, Any]:
    """The WorkspaceEdit of an edit answer; raises ValueError saying which rule it breaks.

    ``shown`` maps the names shown to the model to (URI, text, number of lines shown).
    """
    if not answer.edits:
        raise ValueError("the edit changes nothing")
    by_uri: dict[str, list[tuple[int, int, dict[str, Any]]]] = {}
    for e in answer.edits:
        doc = shown.get(e.document) or next((v for k, v in shown.items() if v[0] == e.document), None)
        if doc is None:
            raise ValueError(f"it edits '{e.document}', which is not a document of the history")
        uri, text, shown_lines = doc
        count = len(text.splitlines())
        if e.start_line > count + 1 or e.end_line < e.start_line - 1 or e.end_line > count:
            raise ValueError(f"lines {e.start_line}–{e.end_line} do not exist in '{e.document}' ({count} lines)")
        if e.end_line > shown_lines:
            raise ValueError(f"it edits lines of '{e.document}' that were not shown to the model")
        by_uri.setdefault(uri, []).append((e.start_line, e.end_line, _text_edit(text, e)))
    changes: dict[str, list[dict[str, Any]]] = {}
    for uri, items in by_uri.items():
        items.sort(key=lambda x: (x[0], x[1]))
        for (_, e1, _), (s2, _, _) in itertools.pairwise(items):
            if s2 <= e1:
                raise ValueError(f"two edits overlap at line {s2}")
        changes[uri] = [te for _, _, te in items]
    return {"changes": changes}


def _edit_as_markdown(proposal: Proposal, answer: EditAnswer, reason: str) -> ShowMarkdown:
    parts = [f"# {answer.label or proposal.task}", ""]
    if answer.explanation:
        parts += [answer.explanation, ""]
    parts += [f"> The proposed edit was not applied: {reason}.", ""]
    for e in answer.edits:
        parts += [
            f"**{e.document}**, lines {e.start_line}–{e.end_line}:",
            "",
            "```",
            e.new_text.rstrip("\n"),
            "```",
            "",
        ]
    return ShowMarkdown(title=answer.label or proposal.task, markdown="\n".join(parts))


def build_messages(
    proposal: Proposal, documents: dict[str, tuple[str, str, int]], bodies: dict[str, str]
) -> list[dict[str, str]]:
    request: dict[str, Any] = {
        "Observations": proposal.observations[-30:],
        "Accepted Task": proposal.task,
        "Your Proposal": proposal.message,
    }
    if bodies:
        request["Documents"] = bodies
    request["Instructions"] = EXEC_INSTRUCTIONS
    return [{"role": "system", "content": EXECUTOR_SYSTEM_PROMPT}, {"role": "user", "content": dumps(request)}]


async def execute_task(
    endpoint: ModelEndpoint,
    proposal: Proposal,
    document_text: Callable[[str], str | None],
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    workspace_roots: Sequence[str] = (),
    max_tokens: int | None = None,
) -> ShowMarkdown | ApplyEdit:
    """Carry out an accepted task with the model. Raises :class:`ModelError` when the model cannot answer.

    ``document_text(uri)`` returns a document's current text, or None when it is unknown or
    excluded (its text must not reach the model). ``workspace_roots`` (URIs or paths) resolve the
    relative paths the observations quote.
    """
    shown: dict[str, tuple[str, str, int]] = {}
    bodies: dict[str, str] = {}
    for name, uri in candidate_documents(proposal, workspace_roots):
        if len(shown) >= MAX_DOCUMENTS or name in shown:
            continue
        text = document_text(uri)
        if text is None:
            continue
        budget_lines = MAX_DOCUMENT_LINES
        body, shown_lines = _numbered(text, budget_lines)
        while len(body) > MAX_DOCUMENT_CHARS and budget_lines > 20:
            budget_lines //= 2
            body, shown_lines = _numbered(text, budget_lines)
        shown[name] = (uri, text, shown_lines)
        bodies[name] = body

    tokens = max_tokens or max(endpoint.max_tokens, 1024)
    client = ModelClient(endpoint, transport=transport)
    try:
        answer, _ = await client.chat_parsed(
            build_messages(proposal, shown, bodies),
            parse_exec_answer,
            response_format=response_format("proactive_execution", exec_schema(tokens)),
            max_tokens=tokens,
        )
    finally:
        await client.aclose()

    if isinstance(answer, MarkdownAnswer):
        return ShowMarkdown(title=(answer.title or proposal.task)[:300], markdown=answer.markdown)
    try:
        edit = build_edit(answer, shown)
    except ValueError as exc:
        return _edit_as_markdown(proposal, answer, str(exc))
    return ApplyEdit(label=(answer.label or proposal.task)[:300], edit=edit)


__all__ = ["execute_task", "exec_schema", "parse_exec_answer", "build_edit", "candidate_documents", "ModelError"]
