"""Proposers: they read the event history and suggest one task, or stay silent."""
