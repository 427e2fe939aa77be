"""Where a tree-sitter node boundary is in the mirror's lines, and the text and columns there.

Tree-sitter counts rows at LF only, while LSP also ends a line at a lone CR. As long as a document
has no lone CR both agree and node points are used directly; in a document with lone CRs lines are
found from byte offsets through the mirror instead.
"""

from __future__ import annotations

from bisect import bisect_right

from tree_sitter import Node

from proactive_ls.sensing.mirror import DocumentMirror, units_from_index

__all__ = ["Positions", "has_lone_cr"]


def has_lone_cr(lines: list[str]) -> bool:
    """Whether a line ends with a CR alone (lines ending CRLF end with LF)."""
    return any(line.endswith("\r") for line in lines)


class Positions:
    """Node boundaries of one document's tree as mirror lines; `lone_cr` says which way to find them.

    The document keeps `lone_cr` up to date: it is set as soon as an edit writes a lone CR, and
    cleared only with the parse from scratch that brings the tree's rows back to tree-sitter's.
    """

    def __init__(self, mirror: DocumentMirror) -> None:
        self.mirror = mirror
        self.lone_cr = has_lone_cr(mirror.lines)

    def line_of_byte(self, byte: int) -> int:
        mirror = self.mirror
        return bisect_right(range(mirror.line_count), byte, key=mirror.line_start_byte) - 1

    def position(self, byte: int, point: tuple[int, int]) -> tuple[int, int]:
        """(line, byte column) of a node boundary."""
        if not self.lone_cr:
            return point[0], point[1]
        line = self.line_of_byte(byte)
        return line, byte - self.mirror.line_start_byte(line)

    def text(self, node: Node) -> str:
        line, column = self.position(node.start_byte, node.start_point)
        size = node.end_byte - node.start_byte
        lines = self.mirror.lines
        raw = lines[line].encode("utf-8")
        while len(raw) < column + size and line + 1 < len(lines):  # a name across lines (rare)
            line += 1
            raw += lines[line].encode("utf-8")
        return raw[column : column + size].decode("utf-8", errors="replace")

    def units(self, line: int, byte_column: int) -> int:
        """A byte column of a line as a column in the mirror's position encoding."""
        text = self.mirror.lines[line] if line < self.mirror.line_count else ""
        if text.isascii():
            return byte_column
        index = len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))
        return units_from_index(text, index, self.mirror.encoding)
