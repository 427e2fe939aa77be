"""proactive-ls: a language server that proposes tasks before it is asked."""

__version__ = "0.1.0"
