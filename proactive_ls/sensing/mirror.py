"""The text of one open document, kept as a list of lines and updated in O(size of the edit).

pygls's own document store rebuilds the whole text on every incremental change; on a
10,000-line file that is the cost of every keystroke. Here a change touches only the lines it
spans, and byte offsets (which tree-sitter needs) come from a prefix table that is only
recomputed past the edited line, lazily.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["utf-16", "utf-8", "utf-32"]

# LSP line endings are \n, \r\n and \r; str.splitlines would also split on \x0b, \x1c, \u2028, ...
_EOL_SPLIT = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")
_EOL_CHARS = "\r\n"
# What str.splitlines splits on besides \n, \r and \r\n (only the first five can be ASCII).
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def split_lines(text: str) -> list[str]:
    """Lines with their endings; always ends with the (possibly empty) line after the last ending.

    str.splitlines is ten times faster than the regular expression (a 1 MB paste: 10 ms, not
    120 ms on the event loop); it is used when the text holds none of the other breaks it knows.
    """
    others = _OTHER_BREAKS[:5] if text.isascii() else _OTHER_BREAKS
    if any(b in text for b in others):
        return _EOL_SPLIT.split(text)
    lines = text.splitlines(keepends=True)
    if not lines or lines[-1].endswith(("\n", "\r")):
        lines.append("")
    return lines


def _content_len(line: str) -> int:
    """Length of a line without its ending."""
    if line.endswith("\r\n"):
        return len(line) - 2
    if line.endswith(("\n", "\r")):
        return len(line) - 1
    return len(line)


def _byte_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-8"))


def index_from_units(line: str, units: int, encoding: Encoding = "utf-16") -> int:
    """Python string index of a position given in `encoding` code units, clamped to the line's content."""
    limit = _content_len(line)
    if encoding == "utf-32" or line.isascii():
        return min(units, limit)
    count = 0
    for i in range(limit):
        if count >= units:
            return i
        cp = ord(line[i])
        if encoding == "utf-16":
            count += 2 if cp > 0xFFFF else 1
        else:
            count += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
    return limit


def units_from_index(line: str, index: int, encoding: Encoding = "utf-16") -> int:
    """Code units of `encoding` in line[:index] (the inverse of index_from_units)."""
    head = line[:index]
    if encoding == "utf-32" or head.isascii():
        return len(head)
    if encoding == "utf-8":
        return len(head.encode("utf-8"))
    return len(head) + sum(1 for ch in head if ord(ch) > 0xFFFF)


@dataclass(frozen=True, slots=True)
class EditSpan:
    """One applied change, in the terms tree-sitter's Tree.edit wants (bytes, (row, byte column))."""

    start_line: int
    old_end_line: int
    new_end_line: int
    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]

    @property
    def lines_removed(self) -> int:
        return self.old_end_line - self.start_line

    @property
    def lines_added(self) -> int:
        return self.new_end_line - self.start_line


class DocumentMirror:
    """Lines of a document; positions are in the negotiated LSP position encoding."""

    def __init__(self, text: str, encoding: Encoding = "utf-16") -> None:
        self.encoding: Encoding = encoding
        # A document is kept as one string until something needs its lines (its first change, a
        # parse): most open documents are never edited, and a str per line costs about 50 bytes more.
        self._text: str | None = text
        self._lines: list[str] | None = None
        self._starts: list[int] = [0]  # byte offset of line i, valid for i < len(_starts)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = split_lines(self._text or "")
            self._text = None
        return self._lines

    @property
    def text(self) -> str:
        return "".join(self._lines) if self._lines is not None else self._text or ""

    @property
    def line_count(self) -> int:
        if self._lines is not None:
            return len(self._lines)
        text = self._text or ""
        return text.count("\n") + text.count("\r") - text.count("\r\n") + 1

    @property
    def lines_of_text(self) -> int:
        """Lines as an editor counts them: a final line ending does not start another line."""
        n = self.line_count
        if self._lines is not None:
            return n - 1 if n > 1 and self._lines[-1] == "" else n
        return n - 1 if n > 1 and (self._text or "").endswith(("\n", "\r")) else n

    def replace_all(self, text: str) -> None:
        self._text, self._lines = text, None
        self._starts = [0]

    def line_start_byte(self, line: int) -> int:
        starts = self._starts
        while len(starts) <= line:
            i = len(starts) - 1
            starts.append(starts[i] + _byte_len(self.lines[i]))
        return starts[line]

    def byte_length(self) -> int:
        if self._lines is None:
            return _byte_len(self._text or "")
        last = len(self.lines) - 1
        return self.line_start_byte(last) + _byte_len(self.lines[last])

    def _clamp(self, line: int, units: int) -> tuple[int, int]:
        """(line, string index) of an LSP position; past the end means the end of the document."""
        if line < 0:
            return 0, 0
        if line >= len(self.lines):
            last = len(self.lines) - 1
            return last, _content_len(self.lines[last])
        return line, index_from_units(self.lines[line], max(units, 0), self.encoding)

    def apply_change(self, start: tuple[int, int], end: tuple[int, int], text: str) -> EditSpan:
        """Replace the range [start, end) (LSP positions as (line, character)) with `text`."""
        sl, si = self._clamp(*start)
        el, ei = self._clamp(*end)
        if (el, ei) < (sl, si):
            sl, si, el, ei = el, ei, sl, si
        lines = self.lines
        first, last = lines[sl], lines[el]
        prefix, suffix = first[:si], last[ei:]
        start_col = _byte_len(prefix)
        old_end_col = _byte_len(last[:ei])
        start_byte = self.line_start_byte(sl) + start_col
        old_end_byte = self.line_start_byte(el) + old_end_col

        # The lines sl..el are replaced by the re-split chunk. If the line before ends with a
        # lone CR and the chunk now starts with LF, the two become one CRLF: take that line in.
        r0, head = sl, prefix
        if si == 0 and sl > 0 and lines[sl - 1].endswith("\r") and (text + suffix).startswith("\n"):
            r0, head = sl - 1, lines[sl - 1] + prefix
        new_lines = split_lines(head + text + suffix)
        if el < len(lines) - 1:
            new_lines.pop()  # the chunk ends with line el's ending; the next line is not part of it
        lines[r0 : el + 1] = new_lines
        del self._starts[r0 + 1 :]

        # Where the inserted text ends, found in the re-split lines (a CR it ends with may have
        # joined an LF after it into one line ending): the last line starting at or before it,
        # searched from the end (a paste of 50,000 lines is followed by one or two).
        inserted_end = len(head) + len(text)
        k = len(new_lines) - 1
        line_start = inserted_end + len(suffix) - len(new_lines[k])
        while line_start > inserted_end:
            k -= 1
            line_start -= len(new_lines[k])
        row, offset = r0 + k, inserted_end - line_start
        new_end_point = (row, _byte_len(lines[row][:offset]))
        return EditSpan(
            start_line=sl,
            old_end_line=el,
            new_end_line=row,
            start_byte=start_byte,
            old_end_byte=old_end_byte,
            new_end_byte=start_byte + _byte_len(text),
            start_point=(sl, start_col),
            old_end_point=(el, old_end_col),
            new_end_point=new_end_point,
        )

    def read_bytes(self, byte_offset: int, point: tuple[int, int]) -> bytes:
        """tree-sitter's read callback: the bytes from `byte_offset` to the end of its line.

        The offset decides; the point's row is only a hint. tree-sitter counts rows at LF alone,
        so after a lone CR its rows are not this mirror's lines.
        """
        lines = self.lines
        row = point[0]
        if row < len(lines):
            column = byte_offset - self.line_start_byte(row)
            if 0 <= column < _byte_len(lines[row]):
                return lines[row].encode("utf-8")[column:]
        if byte_offset >= self.byte_length():
            return b""
        row = bisect_right(range(len(lines)), byte_offset, key=self.line_start_byte) - 1
        return lines[row].encode("utf-8")[byte_offset - self.line_start_byte(row) :]

    def line_text(self, line: int) -> str:
        if 0 <= line < len(self.lines):
            raw = self.lines[line]
            return raw[: _content_len(raw)]
        return ""
