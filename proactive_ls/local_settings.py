"""The settings only the user's own machine gives (``serve --feedback-log``, the environment).

Read before the server exists, so without pydantic: :mod:`proactive_ls.config` re-exports them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FEEDBACK_LOG_ENV = "PROACTIVE_LS_FEEDBACK_LOG"
"""The environment variable that sets the feedback log on this machine (like ``serve --feedback-log``)."""


def local_overrides(feedback_log: Path | None, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The settings only the user's own machine can give: ``serve --feedback-log``, else
    ``$PROACTIVE_LS_FEEDBACK_LOG``. They win over the client's and are not checked."""
    raw = environ.get(FEEDBACK_LOG_ENV, "")
    path = feedback_log or (Path(raw).expanduser() if raw else None)
    return {"feedbackLog": str(path)} if path else {}


__all__ = ["FEEDBACK_LOG_ENV", "local_overrides"]
