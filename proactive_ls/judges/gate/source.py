"""Which gate model is in use, and keeping it fresh when its file changes.

The ``gateModel`` setting names a file; without it the user's retrained model
(``<user data>/gate_model.json``, written by ``proactive-ls train-gate``) is used when it is
present and valid, else the model packaged with proactive-ls. Every server of the user checks
the file's identity (inode, size, modification time) before it scores, one ``stat`` call, so a
model written by ``train-gate`` reaches every open editor at its next decision, without a
restart. A file that does not load is reported once and the previous model is kept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from proactive_ls.judges.gate.model import PACKAGED_MODEL, Gate

log = logging.getLogger(__name__)

USER_MODEL_NAME = "gate_model.json"
Origin = Literal["setting", "user", "packaged"]


def user_model_path() -> Path:
    """Where ``train-gate`` installs the user's model, and where the servers look for it."""
    from proactive_ls.config import data_dir

    return data_dir() / USER_MODEL_NAME


@dataclass(frozen=True)
class _Stamp:
    ino: int
    size: int
    mtime_ns: int


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _Stamp(st.st_ino, st.st_size, st.st_mtime_ns)


def describe_gate(gate: Gate, path: Path | None, origin: Origin) -> dict[str, Any]:
    """What ``proactive.status`` says about a model: where from, when trained, on what, how well."""
    meta = gate.meta
    trained_on = meta.get("trained_on") if isinstance(meta.get("trained_on"), dict) else {}
    held_out = meta.get("held_out")
    if held_out is None:  # the packaged model's leave-one-trace-out figures on ProactiveBench
        evaluation = meta.get("evaluation")
        loto = evaluation.get("loto", {}).get("gate") if isinstance(evaluation, dict) else None
        if loto:
            held_out = {"on": "ProactiveBench, leave one trace out", **loto}
    return {
        "origin": origin,
        "path": str(path) if path is not None else None,
        "version": gate.version,
        "trainedAt": meta.get("trained_at"),
        "records": trained_on.get("rows") if isinstance(trained_on, dict) else None,
        "heldOut": held_out,
    }


class GateModelSource:
    """The gate model a judge scores with: :meth:`current` reloads it when its file has changed.

    ``configured`` is the ``gateModel`` setting (None: the user's model, else the packaged one).
    ``notify`` is told, once per file version, when a file cannot be used.
    """

    def __init__(
        self,
        configured: Path | None = None,
        user_path: Path | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.configured = Path(configured).expanduser() if configured is not None else None
        self.user_path = user_path if user_path is not None else user_model_path()
        self.notify = notify
        self.problem: str | None = None
        self._packaged: Gate | None = None
        self._loaded_stamp: _Stamp | None = None
        self._rejected_stamp: _Stamp | None = None
        self.origin: Origin = "packaged"
        self.path: Path = PACKAGED_MODEL
        self.gate = self._load_initial()
        self.reloads = 0

    @property
    def candidate(self) -> Path:
        return self.configured if self.configured is not None else self.user_path

    def _packaged_gate(self) -> Gate:
        if self._packaged is None:
            self._packaged = Gate.load()
        return self._packaged

    def _load_initial(self) -> Gate:
        gate = self._try(self.candidate, _stamp(self.candidate))
        if gate is not None:
            return gate
        self.origin, self.path = "packaged", PACKAGED_MODEL
        return self._packaged_gate()

    def _try(self, path: Path, stamp: _Stamp | None) -> Gate | None:
        """Load ``path`` if it exists and is valid; remember why not otherwise."""
        if stamp is None:
            if self.configured is not None:
                self._report(f"gateModel {path} does not exist; using the packaged gate model")
            return None
        try:
            gate = Gate.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if stamp != self._rejected_stamp:
                self._rejected_stamp = stamp
                self._report(f"proactive-ls cannot use the gate model {path}: {exc}; keeping the {self.origin} one")
            return None
        self._loaded_stamp = stamp
        self.problem = None
        self.origin = "setting" if self.configured is not None else "user"
        self.path = path
        return gate

    def _report(self, message: str) -> None:
        if message == self.problem:
            return
        self.problem = message
        log.warning("%s", message)
        if self.notify is not None:
            self.notify(message)

    def current(self) -> Gate:
        """The model to score with now: reloaded first if its file changed (one ``stat``)."""
        stamp = _stamp(self.candidate)
        if stamp == self._loaded_stamp:
            return self.gate
        if stamp is None:
            if self._loaded_stamp is not None:  # the file in use was removed: back to the packaged model
                self._loaded_stamp = None
                self.origin, self.path = "packaged", PACKAGED_MODEL
                self.gate = self._packaged_gate()
                self.reloads += 1
            return self.gate
        if stamp == self._rejected_stamp:
            return self.gate
        gate = self._try(self.candidate, stamp)
        if gate is not None:
            self.gate = gate
            self.reloads += 1
            log.info("gate model reloaded from %s (%s)", self.path, gate.version)
        return self.gate

    def describe(self) -> dict[str, Any]:
        gate = self.current()
        return {**describe_gate(gate, self.path, self.origin), "problem": self.problem, "reloads": self.reloads}
