"""Rules of the embedded proposer: each looks at the new events and returns a suggestion or None.

A rule module exposes ``RULES``, a list of :data:`Rule`, in priority order. Rules are pure
functions of the context: deterministic, instant, no I/O beyond reading files the history names.
"""

from __future__ import annotations

from collections.abc import Callable

from proactive_ls.proposals import Suggestion
from proactive_ls.proposers.base import ProposalContext

Rule = Callable[[ProposalContext], Suggestion | None]
