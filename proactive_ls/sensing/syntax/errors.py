"""The syntax errors of a tree: its ERROR and MISSING nodes, at LSP positions.

Kept apart from the definitions: an error is reported where it is, whatever it is inside.
tree-sitter's error recovery often wraps a whole region (a class, a function, the file) in one
ERROR node around the real mistake, so the outermost node is the wrong place to point at. We
report the innermost errors instead, earliest first. In Python an unclosed bracket swallows the
lines after it, and CPython names the bracket ("'(' was never closed"): there the location is the
bracket inside the ERROR node that nothing closes. In the brace languages tsc, gcc and node name
the first line that cannot continue the expression, which is where the innermost node starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node, Tree

from proactive_ls.sensing.syntax.positions import Positions

__all__ = ["SyntaxIssue", "find_syntax_errors"]

_CLOSING = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class SyntaxIssue:
    """An ERROR or MISSING node: 0-based line and column in the mirror's position encoding
    (UTF-16 code units unless the client negotiated another), as LSP positions are."""

    line: int
    column: int
    missing: str | None = None
    end_line: int = field(default=-1, compare=False)
    """Last line the error's region covers (-1: unknown); says which lines an old error spans."""


def _unclosed_bracket(node: Node) -> Node | None:
    """The first bracket among an ERROR node's own tokens that no later token closes."""
    open_: list[Node] = []
    for child in node.children:
        kind = child.type
        if kind in _CLOSING:
            open_.append(child)
        elif open_ and kind == _CLOSING[open_[-1].type]:
            open_.pop()
    return open_[0] if open_ else None


def _innermost(node: Node) -> list[Node]:
    """The error nodes under ``node`` (itself included) that hold no other error, in document order."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        inner = [child for child in current.children if child.has_error or child.is_missing]
        if (current.is_error or current.is_missing) and not any(c.is_error or c.has_error for c in inner):
            found.append(current)
            continue
        stack.extend(reversed(inner))
    return found


def find_syntax_errors(tree: Tree, positions: Positions, limit: int) -> list[SyntaxIssue]:
    """Innermost ERROR and MISSING nodes in document order; only subtrees that hold one are visited."""
    root = tree.root_node
    if not root.has_error:
        return []
    brackets = root.type == "module"  # Python (not every grammar sets Language.name)
    issues: list[SyntaxIssue] = []
    for node in _innermost(root):
        where = _unclosed_bracket(node) if brackets and node.is_error else None
        at = where if where is not None else node
        line, column = positions.position(at.start_byte, at.start_point)
        end_line, _ = positions.position(node.end_byte, node.end_point)
        missing = node.type if node.is_missing else None
        issues.append(SyntaxIssue(line, positions.units(line, column), missing, end_line=max(end_line, line)))
        if len(issues) >= limit:
            break
    issues.sort(key=lambda i: (i.line, i.column))
    return issues
