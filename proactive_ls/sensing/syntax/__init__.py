"""Code structure of an open document, kept up to date incrementally with tree-sitter.

The package keeps one :class:`SyntaxDocument` per open document in a supported language. Its
modules, each with one job:

- :mod:`.languages`: which grammar parses a document (:func:`language_for`), and loading it;
- :mod:`.positions`: tree-sitter node boundaries as the mirror's lines, also with lone CRs;
- :mod:`.definitions`: what a definition is in each language, and what a node defines;
- :mod:`.document`: the tree, edited and reparsed incrementally, and its definitions;
- :mod:`.errors`: the ERROR and MISSING nodes of a tree;
- :mod:`.diff`: the definitions added, removed and renamed between two parses.
"""

from __future__ import annotations

from proactive_ls.sensing.syntax.definitions import Definition
from proactive_ls.sensing.syntax.diff import diff_definitions
from proactive_ls.sensing.syntax.document import SyntaxDocument
from proactive_ls.sensing.syntax.errors import SyntaxIssue
from proactive_ls.sensing.syntax.languages import LANGUAGES, language_for, load_language

__all__ = [
    "LANGUAGES",
    "Definition",
    "SyntaxDocument",
    "SyntaxIssue",
    "diff_definitions",
    "language_for",
    "load_language",
]
