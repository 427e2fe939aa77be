"""Which tree-sitter grammar parses a document, and loading it.

A document gets a grammar from its LSP languageId, else from its file extension; the rest of the
package only ever sees the grammar's name (one of :data:`LANGUAGES`).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import PurePath

from tree_sitter import Language

__all__ = ["LANGUAGES", "language_for", "load_language"]

# language name -> (grammar module, function returning the grammar)
_GRAMMARS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

_LANGUAGE_IDS: dict[str, str] = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",  # tree-sitter-javascript parses JSX
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "cuda-cpp": "cpp",
}

_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".cu": "cpp",
}

LANGUAGES: tuple[str, ...] = tuple(_GRAMMARS)


def language_for(language_id: str, path: str | None) -> str | None:
    """The grammar for an LSP languageId, else for the file's extension; None without one."""
    by_id = _LANGUAGE_IDS.get(language_id.lower())
    if by_id is not None or not path:
        return by_id
    return _EXTENSIONS.get(PurePath(path).suffix.lower())


@functools.cache
def load_language(name: str) -> Language:
    """The tree-sitter Language of a grammar (loaded once; Language objects are immutable)."""
    module, function = _GRAMMARS[name]
    return Language(getattr(importlib.import_module(module), function)())
