"""The session file (docs/replay-format.md): a header line, then one session input per line, each with its time.

The inputs are the session's own (``proactive_ls.inputs``): what an editor would have told the
server (open, change, save, close, terminal, diagnostics) or a ready-made event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from proactive_ls.inputs import Input, InputAdapter

FORMAT: Final = "proactive-ls/session"


class Header(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")
    format: Literal["proactive-ls/session"] = FORMAT
    version: int = 1
    description: str = ""
    workspace: str = Field(default=".", description="the workspace folder, relative to the session file")
    settings: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(default_factory=dict, description="what a correct replay proposes (used by tests)")


@dataclass
class Recording:
    """A session to replay: its inputs in time order (each has its time) and its workspace."""

    header: Header
    actions: list[Input]
    workspace: Path
    source: Path

    @property
    def start(self) -> float:
        return (self.actions[0].time or 0.0) if self.actions else 0.0


class ReplayFormatError(ValueError):
    pass


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                yield number, json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ReplayFormatError(f"{path}:{number}: not JSON: {exc.msg}") from None


def timed(item: Input, where: str) -> Input:
    """A replayed input must carry its time."""
    if item.time is None:
        raise ReplayFormatError(f"{where}: Field required at time")
    return item


def sort_by_time(actions: list[Input]) -> list[Input]:
    return sorted(actions, key=lambda a: a.time or 0.0)


def load_session(path: Path) -> Recording:
    """Read a session file (see docs/replay-format.md)."""
    header = Header()
    actions: list[Input] = []
    for number, data in _lines(path):
        if number == 1 and data.get("format") == FORMAT:
            header = Header.model_validate(data)
            continue
        try:
            actions.append(timed(InputAdapter.validate_python(data), f"{path}:{number}"))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ReplayFormatError(f"{path}:{number}: {first['msg']} at {where}") from None
    return Recording(header, sort_by_time(actions), (path.parent / header.workspace).resolve(), path)


__all__ = ["FORMAT", "Header", "Recording", "ReplayFormatError", "load_session", "sort_by_time", "timed"]
