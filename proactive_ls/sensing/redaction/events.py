"""What of an event is kept: the content fields dropped for an excluded file, and every string left
redacted.

Its own module because it is the one place that knows the event kinds: a new kind with content must
be listed in ``_CONTENT_FIELDS`` (an unlisted kind about an excluded file is dropped whole).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from proactive_ls.events import (
    DiagnosticsChanged,
    DocumentClosed,
    DocumentEdited,
    DocumentOpened,
    DocumentSaved,
    EventBase,
    GitBranchSwitched,
    GitCommitted,
    GitOperation,
    GitStaged,
    GitWorktreeChanged,
    Observation,
    SyntaxErrorFound,
    TerminalCommand,
)
from proactive_ls.sensing.redaction.secrets import redact_text

_Model = TypeVar("_Model", bound=BaseModel)

# What is kept of an event about an excluded file: the fields below are removed (set to empty).
_CONTENT_FIELDS: dict[type[EventBase], dict[str, Any]] = {
    DocumentOpened: {},
    DocumentSaved: {},
    DocumentClosed: {},
    DocumentEdited: {"definitions": [], "added": [], "removed": [], "renamed": []},
    DiagnosticsChanged: {"first_error": None, "items": []},
    SyntaxErrorFound: {"missing": None},
    TerminalCommand: {"output_tail": "", "failure": None},
    GitBranchSwitched: {},
    GitCommitted: {},
    GitStaged: {},
    GitOperation: {},
    GitWorktreeChanged: {},
}


def without_content(event: EventBase) -> EventBase | None:
    """Only the fact that the file was touched. Observations (free text) and event kinds this
    module does not know are dropped: nothing in them can be told apart from content."""
    update = _CONTENT_FIELDS.get(type(event))
    if update is None or isinstance(event, Observation):
        return None
    return event.model_copy(update=update) if update else event


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, BaseModel):
        return redact_model(value)
    if isinstance(value, list):
        items = [_redact_value(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, tuple):
        items_t = tuple(_redact_value(v) for v in value)
        return items_t if any(a is not b for a, b in zip(items_t, value, strict=True)) else value
    return value


_SCALARS = (bool, int, float, type(None))


def redact_model(model: _Model) -> _Model:
    """``model`` with every string in it (but ``kind``) redacted: a copy, or ``model`` itself if none changes."""
    update: dict[str, Any] = {}
    # The fields' values straight from the instance (the same names, in model_fields' order):
    # this runs for every event, and most values are numbers or short strings seen before.
    for name, old in model.__dict__.items():
        cls = type(old)
        if cls in _SCALARS or not old or name == "kind":  # nothing to redact in an empty string or list
            continue
        new = redact_text(old) if cls is str else _redact_value(old)
        if new is not old and new != old:
            update[name] = new
    return model.model_copy(update=update) if update else model
