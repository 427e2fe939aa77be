"""The engine of proposals: history, triggers, policies. It imports nothing from LSP."""

from proactive_ls.engine.core import Engine, TickResult, UnknownProposal

__all__ = ["Engine", "TickResult", "UnknownProposal"]
