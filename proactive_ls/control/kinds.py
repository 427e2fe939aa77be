"""What a proposal is about: one vocabulary for mutes (``proactive.mute``) and stats (``--by kind``).

A kind is the rule that made the proposal (or "a model's task"). It is read from the suggestion's
key, which every embedded rule prefixes with its name, so a new rule only needs a new prefix here.
Records written before kinds existed get theirs from the same key-less evidence (task, operation).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePath

from proactive_ls.sensing.paths import uri_to_path


class ProposalKind(StrEnum):
    FAILING_COMMAND = "failing_command"
    ERRORS_AFTER_SAVE = "errors_after_save"
    SYNTAX_ERROR = "syntax_error"
    CONFLICT = "conflict"
    COMMIT_DRAFT = "commit_draft"
    MODEL_TASK = "model_task"
    OTHER = "other"


DESCRIPTIONS: dict[ProposalKind, str] = {
    ProposalKind.FAILING_COMMAND: "a test or build command failed in the terminal",
    ProposalKind.ERRORS_AFTER_SAVE: "errors left in a file after saving it",
    ProposalKind.SYNTAX_ERROR: "a syntax error the parser sees in an open document",
    ProposalKind.CONFLICT: "files left conflicted by a merge or rebase",
    ProposalKind.COMMIT_DRAFT: "a commit message drafted after the tests passed",
    ProposalKind.MODEL_TASK: "a task a model proposed",
    ProposalKind.OTHER: "anything else",
}

_PREFIXES: tuple[tuple[str, ProposalKind], ...] = (
    ("terminal:", ProposalKind.FAILING_COMMAND),
    ("diagnostics:", ProposalKind.ERRORS_AFTER_SAVE),
    ("syntax:", ProposalKind.SYNTAX_ERROR),
    ("git-conflicts:", ProposalKind.CONFLICT),
    ("git-commit:", ProposalKind.COMMIT_DRAFT),
)

# Task openings of the embedded rules, for records that carry no kind (written before kinds).
_TASK_OPENINGS: tuple[tuple[str, ProposalKind], ...] = (
    ("open the failure", ProposalKind.FAILING_COMMAND),
    ("look at the failure", ProposalKind.FAILING_COMMAND),
    ("fix the syntax error", ProposalKind.SYNTAX_ERROR),
    ("resolve the conflict", ProposalKind.CONFLICT),
    ("commit", ProposalKind.COMMIT_DRAFT),
    ("draft a commit", ProposalKind.COMMIT_DRAFT),
)


def kind_of(key: str, operation: str, proposer: str = "local") -> ProposalKind:
    """The kind of a proposal from its identity key, operation kind and proposer."""
    for prefix, kind in _PREFIXES:
        if key.startswith(prefix):
            return kind
    if operation == "model_task" or proposer not in ("local", ""):
        return ProposalKind.MODEL_TASK
    return ProposalKind.OTHER


def kind_of_record(kind: str | None, task: str, operation: str, proposer: str) -> ProposalKind:
    """The kind a feedback record names, or one read from its task for records older than kinds."""
    if kind:
        try:
            return ProposalKind(kind)
        except ValueError:
            return ProposalKind.OTHER
    if operation == "model_task" or proposer not in ("local", ""):
        return ProposalKind.MODEL_TASK
    lowered = task.lower()
    for opening, k in _TASK_OPENINGS:
        if lowered.startswith(opening):
            return k
    if "error" in lowered and "in" in lowered:
        return ProposalKind.ERRORS_AFTER_SAVE
    return ProposalKind.OTHER


def parse_kind(text: str) -> ProposalKind:
    """A kind from user input ("failing_command", "failing-command", "Failing command"); ValueError."""
    normal = text.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return ProposalKind(normal)
    except ValueError:
        known = ", ".join(k.value for k in ProposalKind)
        raise ValueError(f"unknown kind {text!r}: expected one of {known}") from None


def language_of_uri(uri: str | None, language_id: str | None = None) -> str | None:
    """The language a proposal's document is in: the editor's languageId, else its extension."""
    if language_id:
        return language_id.lower()
    if not uri:
        return None
    from proactive_ls.sensing.syntax.languages import language_for  # tree-sitter: only when asked

    path = uri_to_path(uri)
    name = path.name if path is not None else PurePath(uri).name
    return language_for("", name)


__all__ = ["DESCRIPTIONS", "ProposalKind", "kind_of", "kind_of_record", "language_of_uri", "parse_kind"]
