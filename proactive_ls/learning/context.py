"""What a proposal is about, as the per-user model sees it: its kind, language, folder and command.

A context is a small dict of strings, computed from the proposal alone (plus the workspace
folders) so that the same proposal always gets the same context, and written into its feedback
record so that the model can be rebuilt from the log. The model learns one weight per feature of
the context (:func:`context_features`): the user as a whole, the kind, and the kind in each
language, folder and command.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

from proactive_ls.control.kinds import ProposalKind, kind_of
from proactive_ls.judges.gate.text import TASK_TOPICS, words


def task_kind(task: str | None) -> str:
    """The kind of a free-text task (a model's proposal): ``task:`` and its topic, by the words it uses."""
    if task is None or not task.strip():
        return "silence"
    ws = set(words(task))
    for topic, vocabulary in TASK_TOPICS.items():
        if ws & vocabulary:
            return "task:" + topic
    return "task:other"


@functools.lru_cache(maxsize=1024)
def _place(anchor_uri: str | None, roots: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``language`` and ``folder`` of a proposal's document (cached: a decision asks at every proposal)."""
    parsed = urlparse(anchor_uri) if anchor_uri else None
    if parsed is None or parsed.scheme != "file":
        return (("folder", roots[0].rstrip("/")),) if len(roots) == 1 else ()
    path = unquote(parsed.path)
    place: list[tuple[str, str]] = []
    suffix = os.path.splitext(path)[1].lstrip(".").lower()
    if suffix:
        place.append(("language", suffix))
    inside = sorted((r for r in roots if path.startswith(r.rstrip("/") + "/")), key=len, reverse=True)
    if inside:
        place.append(("folder", inside[0].rstrip("/")))
    return tuple(place)


def proposal_context(
    key: str, task: str, anchor_uri: str | None, workspace_roots: Sequence[str] = ()
) -> dict[str, str]:
    """The context of a proposal: ``kind`` always; ``language``, ``folder``, ``command`` when known."""
    prefix, _, rest = key.partition(":")
    rule = kind_of(key, "", "local")  # the kinds mutes name (control/kinds.py) for the embedded rules
    context: dict[str, str] = {"kind": rule.value if rule is not ProposalKind.OTHER else task_kind(task)}
    if prefix == "terminal" and rest:
        context["command"] = rest.partition(":")[0]  # the tool whose run failed: pytest, cargo, tsc...
    context.update(_place(anchor_uri, tuple(workspace_roots)))
    return context


def record_context(record: Mapping[str, Any]) -> dict[str, str]:
    """The context of a feedback record: the one it carries, else one rebuilt from its fields."""
    carried = record.get("context")
    if isinstance(carried, dict) and isinstance(carried.get("kind"), str):
        return {str(k): str(v) for k, v in carried.items() if isinstance(v, str)}
    anchor = record.get("anchor")
    uri = anchor.get("uri") if isinstance(anchor, dict) else None
    return proposal_context(str(record.get("key") or ""), str(record.get("task") or ""), uri)


def context_features(context: Mapping[str, str]) -> list[str]:
    """The names of the weights a context uses."""
    kind = context.get("kind", "task:other")
    names = ["user", "kind=" + kind]
    for part in ("language", "folder", "command"):
        value = context.get(part)
        if value:
            names.append(f"kind={kind}|{part}={value}")
    return names
