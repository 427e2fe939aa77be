"""Exclude globs: gitignore-like patterns (``*``, ``?``, ``**``, ``[...]``) matched against a path.

Its own module because it is pure string matching, with no file system and no git: the ``exclude``
setting is decided here, whatever the repository says.
"""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath


@functools.lru_cache(maxsize=512)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """A gitignore-like glob as a regex on a POSIX path: ``*`` and ``?`` stay within one
    component, ``**`` crosses them, ``[...]`` is a class (``[!...]`` negated)."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


class Glob:
    """One exclude glob: with a slash it is anchored to the root-relative path, else it matches any
    component (a basename or a folder name)."""

    def __init__(self, glob: str) -> None:
        self.text = glob
        stripped = glob.strip().rstrip("/")
        self.anchored = "/" in stripped
        self.regex = _glob_regex(stripped.lstrip("/"))

    def matches(self, rel: PurePosixPath) -> bool:
        if self.anchored:
            return self.regex.fullmatch(rel.as_posix()) is not None
        return any(self.regex.fullmatch(part) for part in rel.parts if part != "/")
