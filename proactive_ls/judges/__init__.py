"""Judges: they decide whether a suggestion is worth the user's attention."""
