"""URIs and the paths shown to the user (relative to the workspace folder that holds them)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote, urlparse


def uri_to_path(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def path_to_uri(path: Path | str) -> str:
    return Path(os.path.abspath(path)).as_uri()


def display_path(uri: str, roots: list[Path]) -> str:
    """'src/parser.py' for a file inside a workspace folder, else its absolute path or the URI."""
    path = uri_to_path(uri)
    if path is None:
        return unquote(uri)
    for root in roots:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return str(path)


def resolve_location(path: str, cwd: str | None, roots: list[Path]) -> Path | None:
    """Find the file a tool printed, trying the command's folder, then each workspace folder."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    bases = ([Path(cwd)] if cwd else []) + roots
    for base in bases:
        full = base / candidate
        if full.is_file():
            return full.resolve()
    return None


__all__ = ["uri_to_path", "path_to_uri", "display_path", "resolve_location", "quote"]
