"""Learning from the user: a per-user model of which proposals they want, updated by every answer (docs/learning.md)."""
