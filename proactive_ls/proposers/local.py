"""The embedded proposer: no model, no network, deterministic and instant.

It speaks only when the history shows something concrete the user will want to act on
(a failed test run, errors left in a saved file, a conflicted merge, ...) and is silent otherwise.
"""

from __future__ import annotations

from proactive_ls.proposals import Suggestion
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.rules import Rule


def default_rules() -> list[Rule]:
    from proactive_ls.proposers.rules import diagnostics, git, syntax, terminal

    return [*terminal.RULES, *git.RULES, *diagnostics.RULES, *syntax.RULES]


class LocalProposer:
    name = "local"

    def __init__(self, rules: list[Rule] | None = None) -> None:
        self.rules = rules if rules is not None else default_rules()

    async def propose(self, ctx: ProposalContext) -> Suggestion | None:
        for rule in self.rules:
            suggestion = rule(ctx)
            if suggestion is not None:
                return suggestion
        return None

    async def aclose(self) -> None:
        return None
