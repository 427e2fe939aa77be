"""Redaction and exclusion: what may enter the history, the log and a model request.

Two separate protections, both applied by :meth:`Redactor.redact_event` to every event before the
engine keeps it:

* **Secrets** in any text (terminal output, failure titles, diagnostics, observations, even file
  names) are replaced with ``[REDACTED:<kind>]``: provider tokens recognised by their shape, private
  key blocks, passwords in URLs, ``Authorization`` headers, and the values assigned to secret-looking
  names (``password=...``, ``api_key: "..."``, ``.env`` lines). Every pattern is bounded (no nested
  or unbounded repetition over overlapping classes), so the cost is linear in the text.
* **Excluded files** (the ``exclude`` globs and, with ``respect_gitignore``, whatever the file's
  repository ignores) contribute no content at all: their events keep only that the file was
  touched. See docs/privacy.md for the exact fields kept.

The modules, one concern each:

* ``redactor``: :class:`Redactor`, built from the settings; the only entry point the rest needs.
* ``secrets``: :func:`redact_text`, the passes over a text in their order.
* ``shapes``: secrets recognised by their shape (tokens, keys, URL passwords, auth headers).
* ``commands``: command-line and URL shapes (``mysql -p``, ``curl -u``, query-string keys).
* ``ruleset``: gitleaks' vendored rule set (``vendor/gitleaks.toml``), translated from Go RE2.
* ``entropy``: random-looking tokens right after secret-like names.
* ``names``: which names hold a secret (:func:`secret_kind_of_name`).
* ``assignments``: secret literals assigned to such names, told apart from code; ``.env`` lines.
* ``globs``: the ``exclude`` globs.
* ``gitignore``: what git ignores, asked in batches and cached against the ignore files' mtimes.
* ``events``: what of an event about an excluded file is kept, and redaction of every string left.
"""

from __future__ import annotations

from proactive_ls.sensing.redaction.names import secret_kind_of_name
from proactive_ls.sensing.redaction.redactor import Redactor
from proactive_ls.sensing.redaction.secrets import redact_text

__all__ = ["Redactor", "redact_text", "secret_kind_of_name"]
