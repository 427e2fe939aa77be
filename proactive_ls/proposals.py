"""Proposals: a task offered to the user, and what accepting it does.

A proposer returns a :class:`Suggestion`; the engine gives it an id and a time and makes it a
:class:`Proposal`. The operation is data: nothing runs until the user accepts the proposal.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasGenerator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Model(BaseModel):
    # camelCase on the wire (LSP), snake_case in Python.
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=AliasGenerator(serialization_alias=to_camel))

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Position(_Model):
    """0-based line and UTF-16 character, as in LSP."""

    line: int = Field(ge=0)
    character: int = Field(default=0, ge=0)


class Range(_Model):
    start: Position
    end: Position

    @classmethod
    def line(cls, line: int, start: int = 0, end: int | None = None) -> Range:
        return cls(
            start=Position(line=line, character=start),
            end=Position(line=line, character=end if end is not None else start),
        )


class Anchor(_Model):
    """Where a proposal belongs: it is offered as a code action there."""

    uri: str
    range: Range


class OpenLocation(_Model):
    """Accepting opens the document with the selection on the range (window/showDocument)."""

    kind: Literal["open_location"] = "open_location"
    uri: str
    range: Range


class ShowMarkdown(_Model):
    """Accepting shows a markdown text (written to a file and opened with window/showDocument)."""

    kind: Literal["show_markdown"] = "show_markdown"
    title: str
    markdown: str


class ApplyEdit(_Model):
    """Accepting shows the WorkspaceEdit in full and applies it only once the user confirms it
    (``lsp/confirm.py``); applied with workspace/applyEdit, so the user can undo it."""

    kind: Literal["apply_edit"] = "apply_edit"
    label: str
    edit: dict[str, Any]


class ModelTask(_Model):
    """Accepting asks the model to carry the task out; its answer becomes a ShowMarkdown or ApplyEdit."""

    kind: Literal["model_task"] = "model_task"


Operation = Annotated[OpenLocation | ShowMarkdown | ApplyEdit | ModelTask, Field(discriminator="kind")]


class Suggestion(_Model):
    """What a proposer offers before the engine has accepted it for showing."""

    task: str = Field(min_length=1, max_length=300, description="a short phrase naming the task")
    message: str = Field(min_length=1, description="what the user reads")
    purpose: str | None = None
    thoughts: str | None = None
    anchor: Anchor | None = None
    operation: Operation
    key: str = Field(default="", description="identity of the task for de-duplication; defaults to the normalised task")
    model: str | None = Field(default=None, description="the model that made it, if any")

    def identity(self) -> str:
        return self.key or normalise_task(self.task)


class Verdict(_Model):
    """A judge's decision on a suggestion (or on silence)."""

    accept: bool
    score: float | None = Field(default=None, description="probability that the user accepts, if the judge has one")
    reason: str = ""
    judge: str = ""


class Proposal(_Model):
    id: str = Field(description="unique per proposal; the argument of the accept and reject commands")
    task: str = Field(description="what accepting does, in a few words (a title)")
    message: str = Field(description="what the user is told, ending in a question")
    purpose: str | None = Field(default=None, description="why it may help")
    thoughts: str | None = Field(default=None, description="the proposer's reasoning, if it gave any")
    anchor: Anchor | None = Field(default=None, description="the document and range it concerns (for code actions)")
    operation: Operation = Field(description="what accepting carries out (`kind`, see above)")
    key: str = Field(description="identifies the task across proposals: a rejected key is not proposed again soon")
    proposer: str = Field(description="`local` or the model backend")
    model: str | None = Field(default=None, description="the model that proposed it")
    created_at: float = Field(description="unix seconds")
    observations: list[dict[str, str]] = Field(
        default_factory=list, description="the history that produced it, ProactiveBench format"
    )
    verdict: Verdict | None = Field(default=None, description="the judge's score and reason, if a judge ran")
    kind: str = Field(
        default="other", description="what it is about, the value `proactive.mute` takes (see configuration.md)"
    )
    language: str | None = Field(default=None, description="the language of the document it concerns, if any")


def normalise_task(task: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", task.lower())).strip()
