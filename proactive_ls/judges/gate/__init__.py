"""The gate: a small reward model that decides when a proposal is worth an interruption.

Published proactive agents propose on almost every event and half of what they propose is
rejected. The gate scores ``(history, proposed task or silence)`` with the probability that the
user accepts it, so the engine can stay silent below a bar set by the user's eagerness.

It is a logistic regression over explicit, readable features: coarse kinds of the recent events
(from our typed events when we have them, from the sentences otherwise), timing, failures,
repetition, position in the trace, whether the proposal is silence, how the task overlaps the
latest events, a few words of the task, and recent rejections. The weights are plain JSON
(``judges/gate_model.json``, trained on ProactiveBench's human judgements, Apache-2.0; see
``judges/gate_train.py``) and scoring is pure Python: no numpy, no pickle, well under a millisecond.

The package, from the bottom up: :mod:`.text` (words, stems, vocabularies), :mod:`.kinds` (events
as coarse kinds), :mod:`.history` (the latest steps in one shape), :mod:`.features` (the feature
families), :mod:`.model` (:class:`Gate`, its JSON) and :mod:`.judge` (:class:`GateJudge`, the
eagerness bars). This module re-exports their public names.
"""

from __future__ import annotations

from proactive_ls.judges.gate.features import FEATURES_VERSION, features
from proactive_ls.judges.gate.history import MAX_HISTORY, parse_time
from proactive_ls.judges.gate.judge import EAGERNESS_THRESHOLDS, GateJudge, threshold_for
from proactive_ls.judges.gate.kinds import KINDS, event_kinds, sentence_kinds
from proactive_ls.judges.gate.model import FORMAT, PACKAGED_MODEL, Gate
from proactive_ls.judges.gate.text import GENERIC, STOPWORDS, UI_WORDS, quoted, words

__all__ = [
    "EAGERNESS_THRESHOLDS",
    "FEATURES_VERSION",
    "FORMAT",
    "GENERIC",
    "KINDS",
    "MAX_HISTORY",
    "PACKAGED_MODEL",
    "STOPWORDS",
    "UI_WORDS",
    "Gate",
    "GateJudge",
    "event_kinds",
    "features",
    "parse_time",
    "quoted",
    "sentence_kinds",
    "threshold_for",
    "words",
]
