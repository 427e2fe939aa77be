"""The syntax errors of a tree: its ERROR and MISSING nodes, at LSP positions.

Kept apart from the definitions: an error is reported where it is, whatever it is inside.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Tree

from proactive_ls.sensing.syntax.positions import Positions

__all__ = ["SyntaxIssue", "find_syntax_errors"]


@dataclass(frozen=True)
class SyntaxIssue:
    """An ERROR or MISSING node: 0-based line and column in the mirror's position encoding
    (UTF-16 code units unless the client negotiated another), as LSP positions are."""

    line: int
    column: int
    missing: str | None = None


def find_syntax_errors(tree: Tree, positions: Positions, limit: int) -> list[SyntaxIssue]:
    """ERROR and MISSING nodes in document order; only subtrees that contain one are visited."""
    issues: list[SyntaxIssue] = []
    root = tree.root_node
    stack = [root] if root.has_error else []
    while stack and len(issues) < limit:
        node = stack.pop()
        if node.is_missing or node.is_error:
            line, column = positions.position(node.start_byte, node.start_point)
            issues.append(SyntaxIssue(line, positions.units(line, column), node.type if node.is_missing else None))
            continue
        stack.extend(reversed([child for child in node.children if child.has_error]))
    return issues
