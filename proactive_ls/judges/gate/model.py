"""The trained gate: a logistic regression over named features, stored as plain JSON.

Kept apart from the features so that what is learned (weights, a bias, provenance) and how it
is stored can be read on its own: no numpy, no pickle, a file a person can open.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proactive_ls.judges.gate.features import FEATURES_VERSION, features, features_of
from proactive_ls.private_files import write_private

if TYPE_CHECKING:
    from proactive_ls.events import EventBase
    from proactive_ls.judges.gate.history import History

FORMAT = "proactive-ls-gate"
#: The model packaged with proactive-ls, beside this package (pyproject ships ``judges/*.json``).
PACKAGED_MODEL = Path(__file__).parent.with_name("gate_model.json")


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class Gate:
    """A trained gate: ``score`` is the probability that the user accepts (or accepts the silence)."""

    weights: dict[str, float]
    bias: float = 0.0
    version: str = "untrained"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Gate:
        """Load a gate from JSON; without a path, the model packaged with proactive-ls."""
        data = _read_model(Path(path or PACKAGED_MODEL))
        if data.get("format") != FORMAT:
            raise ValueError(f"{path or PACKAGED_MODEL}: not a {FORMAT} file")
        if data.get("features_version") != FEATURES_VERSION:
            raise ValueError(
                f"{path or PACKAGED_MODEL}: features version {data.get('features_version')} "
                f"does not match this proactive-ls ({FEATURES_VERSION}); retrain it"
            )
        return cls(
            weights={str(k): float(v) for k, v in data["weights"].items()},
            bias=float(data.get("bias", 0.0)),
            version=str(data["version"]),
            meta=dict(data.get("meta", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "features_version": FEATURES_VERSION,
            "meta": self.meta,
            "bias": self.bias,
            "weights": dict(sorted(self.weights.items())),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, sort_keys=False, ensure_ascii=False) + "\n"

    def save(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        write_private(tmp, self.dumps())
        tmp.replace(path)

    def logit(self, feats: dict[str, float]) -> float:
        w = self.weights
        return self.bias + math.fsum(v * w.get(k, 0.0) for k, v in feats.items())  # order-independent

    def score(
        self,
        observations: list[dict[str, str]],
        task: str | None,
        events: list[EventBase] | None = None,
        *,
        recent_rejections: int = 0,
    ) -> float:
        """Probability that the user accepts ``task`` (or, for ``None``, silence) after this history.

        ``observations`` may use ``{"time","event"}`` or ``{"Time","Event"}`` keys; when our typed
        ``events`` are given too, their kinds and times are used instead of guesses from sentences.
        """
        return _sigmoid(self.logit(features(observations, task, events, recent_rejections)))

    def score_history(self, history: History, task: str | None, *, recent_rejections: int = 0) -> float:
        """:meth:`score` of a history already read (:class:`~proactive_ls.judges.gate.history.StepMemo`)."""
        return _sigmoid(self.logit(features_of(history, task, recent_rejections)))


_models: dict[tuple[Path, int, int], dict[str, Any]] = {}


def _read_model(path: Path) -> dict[str, Any]:
    """A model file's JSON, read once per version of the file: a replay builds a judge per file."""
    stat = path.stat()
    key = (path.resolve(), stat.st_mtime_ns, stat.st_size)
    data = _models.get(key)
    if data is None:
        data = json.loads(path.read_text(encoding="utf-8"))
        if len(_models) >= 8:
            _models.clear()
        _models[key] = data
    return data
