"""The syntax tree of an open document, kept up to date incrementally with tree-sitter.

Each didChange only moves the old tree's nodes (:meth:`SyntaxDocument.edit`, microseconds); the
parse itself waits for the end of an edit burst (:meth:`SyntaxDocument.reparse`) and reuses
every subtree the edits did not touch. From the tree come the definitions (functions, methods,
classes, ...), found again only where the edits changed something, and the definitions an edit
falls in; what each node defines is :mod:`~proactive_ls.sensing.syntax.definitions`' business.

Memory: the parse reads one contiguous ``bytes`` copy of the text, never a read callback that
returns fresh slices (py-tree-sitter 0.26 keeps a reference to every object such a callback
returns: the whole text leaked per parse). A document not being edited can drop its tree
(:meth:`SyntaxDocument.release`); the next parse starts from scratch from the mirror.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from tree_sitter import Node, Parser, QueryCursor, Tree

from proactive_ls.sensing.mirror import DocumentMirror, EditSpan
from proactive_ls.sensing.syntax.definitions import (
    DEFINITION_TYPES,
    Context,
    Definition,
    DefinitionMaker,
    definition_query,
    is_definition,
    wraps,
)
from proactive_ls.sensing.syntax.errors import SyntaxIssue, find_syntax_errors
from proactive_ls.sensing.syntax.languages import load_language
from proactive_ls.sensing.syntax.positions import Positions, has_lone_cr

__all__ = ["MAX_CHANGED_BYTES", "MAX_CHANGED_NODES", "MAX_TOP_NODES", "SyntaxDocument", "TooMuchStructure"]

_Entry = tuple[int, list[Definition], list[int]]  # (first line when computed, definitions, depths)
# Definition work is done in Python, about 40 µs per top-level node on a loaded machine: it is
# bounded so that no burst end blocks the server. A burst that changes more top-level nodes than
# MAX_CHANGED_NODES (a 1 MB paste changes 25,000), or a document walked whole (opened, or parsed
# again after its tree was released) with more than MAX_TOP_NODES, raises TooMuchStructure.
MAX_CHANGED_NODES = 1_000
MAX_TOP_NODES = 10_000
# A burst that writes more than this is not parsed at all (a 1 MB paste parses for 0.4 s).
MAX_CHANGED_BYTES = 128 * 1024
_SMALL = 4096  # bytes: below this one query finds a subtree's definitions; above it, descend
# CPU seconds an incremental parse of a tree with errors may take before it is cancelled and
# the text parsed from scratch (error recovery over reused subtrees can blow up: Rust, 0.3 s).
PARSE_TIMEOUT_S = 0.04


class TooMuchStructure(RuntimeError):
    """Finding this document's definitions would cost more than a burst end may: the caller
    stops following its structure (as for a document past ``maxDocumentBytes``)."""


class _Changes:
    """Byte ranges changed since the last parse, in current coordinates, with how much each grew.

    Lets the next collection of definitions reuse what it found in subtrees no edit touched:
    a clean position p was p - (growth of the ranges before it) in the previous parse.

    Kept as a gap buffer around the last edit: the ranges before it in ``_left`` (in order), the
    ranges after it in ``_right`` (last first, stored less ``_shift``, the growth of the edits
    made before them since). An edit next to the previous one (the edits of a Replace All,
    in document order or in reverse) moves no range and shifts none: O(1), so K edits cost
    O(K), not O(K²). An edit elsewhere moves the ranges between the two.
    """

    def __init__(self) -> None:
        self._left: list[tuple[int, int, int]] = []  # sorted, disjoint (start, end, growth)
        self._right: list[tuple[int, int, int]] = []  # the same, reversed, each less _shift
        self._shift = 0

    @property
    def ranges(self) -> list[tuple[int, int, int]]:
        """All ranges, sorted and disjoint: (start, end, growth)."""
        if self._right:
            shift = self._shift
            self._left.extend((s + shift, e + shift, g) for s, e, g in reversed(self._right))
            self._right, self._shift = [], 0
        return self._left

    def add(self, start: int, old_end: int, new_end: int) -> None:
        growth = new_end - old_end
        left, right = self._left, self._right
        shift = self._shift
        while left and left[-1][1] >= start:  # ends at or after the edit's start: not before it
            s, e, g = left.pop()
            right.append((s - shift, e - shift, g))
        while right and right[-1][1] + shift < start:  # ends before the edit's start
            s, e, g = right.pop()
            left.append((s + shift, e + shift, g))
        lo, hi, total = start, new_end, growth
        while right and right[-1][0] + shift <= old_end:  # touches or overlaps the replaced text
            s, e, g = right.pop()
            r_start, r_end = s + shift, e + shift
            lo = min(lo, r_start)
            hi = max(hi, r_end + growth if r_end >= old_end else new_end)
            total += g
        self._shift = shift + growth  # every range left in _right lies after the edit
        left.append((lo, hi, total))


@dataclass
class _Found:
    definitions: list[Definition] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)


class SyntaxDocument:
    """The syntax tree of one document, edited in step with its :class:`DocumentMirror`."""

    MAX_ENCLOSING = 5

    def __init__(self, language: str, mirror: DocumentMirror) -> None:
        self.language = language
        self.mirror = mirror
        self._types = DEFINITION_TYPES[language]
        self._parser = Parser(load_language(language))
        self._positions = Positions(mirror)
        self._maker = DefinitionMaker(language, self._positions)
        self._line_bytes: dict[tuple[str, int], bytes] = {}
        self._tree: Tree | None = self._parse(None)
        self._changes = _Changes()
        self._cache: dict[tuple[object, ...], _Entry] = {}
        self._definitions: list[Definition] = []
        self._depths: list[int] = []  # how deep each definition is nested
        self._chunk_starts: list[int] = []  # start byte of the top-level node each one is in
        self._chunk_rows: list[int] = []  # and its line
        self._collect_definitions(dirty=None)

    @property
    def tree(self) -> Tree:
        """The tree of the last parse (parsed again from the mirror if it was released)."""
        if self._tree is None:
            self._tree = self._parse(None)
        return self._tree

    @property
    def has_tree(self) -> bool:
        return self._tree is not None

    def release(self) -> None:
        """Drop the tree and the definitions' caches (a document not being edited); the
        definitions stay. The next :meth:`reparse` parses from scratch."""
        self._tree = None
        self._cache = {}
        self._chunk_starts, self._chunk_rows = [], []
        self._changes = _Changes()

    def _parse(self, old: Tree | None) -> Tree:
        """Parse the mirror's text, reusing `old` (already edited) when given.

        An incremental parse of a tree with errors runs under :data:`PARSE_TIMEOUT_S` of CPU
        time; past it the parse is cancelled and done from scratch, which error recovery over
        reused subtrees cannot slow down. Only that parse reads through a callback (the only
        way py-tree-sitter offers a progress callback), and the callback hands out one ``bytes``
        object per unchanged line, kept between parses, so the objects py-tree-sitter keeps
        referenced are lines that already exist, not a copy of the text per parse.
        """
        if old is not None and old.root_node.has_error and not self._positions.lone_cr:
            tree = self._parse_with_timeout(old)
            if tree is not None:
                return tree
        data = self.mirror.text.encode("utf-8")
        return self._parser.parse(data, old) if old is not None else self._parser.parse(data)

    def _parse_with_timeout(self, old: Tree) -> Tree | None:
        lines = self.mirror.lines
        cache = self._line_bytes
        if len(cache) > 2 * len(lines) + 1024:  # lines edited away: forget them (rare)
            cache.clear()
        empty = b""

        def read(byte_offset: int, point: tuple[int, int]) -> bytes:
            row, column = point
            if row >= len(lines):
                return empty
            line = lines[row]
            key = (line, column)
            chunk = cache.get(key)
            if chunk is None:
                encoded = cache.get((line, 0))
                if encoded is None:
                    encoded = cache[(line, 0)] = line.encode("utf-8")
                chunk = encoded[column:] if column else encoded
                if not chunk:  # pragma: no cover - a point past its line: read by offset
                    return self.mirror.read_bytes(byte_offset, point)
                cache[key] = chunk
            return chunk

        deadline = time.thread_time() + PARSE_TIMEOUT_S

        def progress(_offset: int, _has_error: bool) -> bool:
            return time.thread_time() > deadline  # True cancels the parse

        try:
            tree = self._parser.parse(read, old, progress_callback=progress)
        except ValueError:  # "Parsing failed": the progress callback cancelled it
            tree = None
        self._parser.reset()  # a cancelled parse must not resume from where it stopped
        return tree

    def edit(self, span: EditSpan) -> None:
        """Tell the tree what one applied change moved; the parse waits for :meth:`reparse`."""
        if not self._positions.lone_cr:
            lines = self.mirror.lines
            self._positions.lone_cr = has_lone_cr(lines[max(span.start_line - 1, 0) : span.new_end_line + 2])
        if self._tree is None:  # released: the next parse starts from scratch anyway
            return
        self._tree.edit(
            span.start_byte,
            span.old_end_byte,
            span.new_end_byte,
            span.start_point,
            span.old_end_point,
            span.new_end_point,
        )
        self._changes.add(span.start_byte, span.old_end_byte, span.new_end_byte)

    def reparse(self) -> None:
        """Parse again, reusing the edited old tree; then update the definitions.

        Raises :class:`TooMuchStructure`, before parsing, when the burst wrote more than
        :data:`MAX_CHANGED_BYTES`."""
        written = sum(end - start for start, end, _ in self._changes.ranges)
        if written > MAX_CHANGED_BYTES:
            raise TooMuchStructure(f"{written} bytes changed in one burst (more than {MAX_CHANGED_BYTES})")
        if self._tree is None:
            self._positions.lone_cr = has_lone_cr(self.mirror.lines)
            self._tree = self._parse(None)
            dirty = None
        elif self._positions.lone_cr and not has_lone_cr(self.mirror.lines):
            # The last lone CR is gone, but the tree's points were kept in the mirror's rows;
            # one parse from scratch brings them back to tree-sitter's (rare: classic Mac files).
            self._positions.lone_cr = False
            self._tree = self._parse(None)
            self._cache = {}
            dirty = None
        else:
            old, self._tree = self._tree, self._parse(self._tree)
            spans = [(s, e) for s, e, _ in self._changes.ranges]
            spans += [(r.start_byte, r.end_byte) for r in old.changed_ranges(self._tree)]
            dirty = _merge(spans)
        self._collect_definitions(dirty)
        self._changes = _Changes()

    # -- definitions ---------------------------------------------------------------------------
    def definitions(self) -> list[Definition]:
        """The definitions of the last parse in document order, outer before inner."""
        return list(self._definitions)

    def _collect_definitions(self, dirty: list[tuple[int, int]] | None) -> None:
        """Find the definitions, reusing what no change touched.

        `dirty` are the byte ranges that changed since the last collection (None: reuse nothing).
        The top-level subtrees between changes keep their definitions as one slice of the old
        list, moved by as many lines as the text before them grew; in a changed top-level
        subtree, clean subtrees are looked up by where they were before, their size, type and
        context (the scope they are in).
        """
        self._dirty = dirty
        self._dirty_ends = [e for _, e in dirty] if dirty else []
        growth, total = [], 0
        for _, _, g in self._changes.ranges:
            total += g
            growth.append(total)
        self._growth = growth
        self._change_ends = [e for _, e, _ in self._changes.ranges]
        self._old_cache = self._cache if dirty is not None else {}
        self._cache = {}
        self._cursor = QueryCursor(definition_query(self.language))
        found = _Found()
        root = self.tree.root_node
        if dirty is None:
            if root.child_count > MAX_TOP_NODES:
                raise TooMuchStructure(f"{root.child_count} top-level nodes (more than {MAX_TOP_NODES})")
            for child in root.children:
                self._top(child, root, found)
        else:
            resume: Node | None = root.child(0) if root.child_count else None
            around = self._around_changes(root, dirty)
            changed_count = sum(len(changed) for _, changed, _ in around)
            if changed_count > MAX_CHANGED_NODES:
                raise TooMuchStructure(f"{changed_count} changed top-level nodes (more than {MAX_CHANGED_NODES})")
            for before, changed, after in around:
                self._copy_clean(root, resume, before, found)
                for child in changed:
                    self._top(child, root, found)
                resume = after
            if root.child_count:
                self._copy_clean(root, resume, root.child(root.child_count - 1), found)
        self._definitions, self._depths = found.definitions, found.depths
        self._chunk_starts, self._chunk_rows = found.starts, found.rows
        self._old_cache = {}

    def _around_changes(
        self, root: Node, dirty: list[tuple[int, int]]
    ) -> list[tuple[Node | None, list[Node], Node | None]]:
        """For each changed range: the last top-level node before it, those overlapping or
        touching it (not already listed), and the first one after it."""
        result: list[tuple[Node | None, list[Node], Node | None]] = []
        seen: set[tuple[int, int, str]] = set()
        cursor = root.walk()  # (Node.first_child_for_byte crashes when no child is found)
        for start, end in dirty:
            cursor.reset(root)
            if cursor.goto_first_child_for_byte(max(start - 1, 0)) is None:
                result.append((root.child(root.child_count - 1) if root.child_count else None, [], None))
                continue
            first = cursor.node
            before = first.prev_sibling if first is not None else None
            changed: list[Node] = []
            after: Node | None = None
            while True:
                child = cursor.node
                if child is None:
                    break
                if child.start_byte > end:
                    after = child
                    break
                identity = (child.start_byte, child.end_byte, child.type)
                if identity not in seen:
                    seen.add(identity)
                    changed.append(child)
                if not cursor.goto_next_sibling():
                    break
            result.append((before, changed, after))
        return result

    def _top(self, child: Node, root: Node, found: _Found) -> None:
        if not (child.named_child_count or child.type in self._types):
            return
        before = len(found.definitions)
        self._visit(child, root, ("", None, 0), found.definitions, found.depths)
        added = len(found.definitions) - before
        if added:
            found.starts.extend([child.start_byte] * added)
            found.rows.extend([self._positions.position(child.start_byte, child.start_point)[0]] * added)

    def _copy_clean(self, root: Node, first: Node | None, last: Node | None, found: _Found) -> None:
        """Carry over the definitions of the untouched top-level nodes first..last."""
        if first is None or last is None or first.start_byte > last.start_byte:
            return
        low, high = self._previous_start(first.start_byte), self._previous_start(last.start_byte)
        starts = self._chunk_starts
        i, j = bisect_left(starts, low), bisect_right(starts, high)
        if i == j:
            return
        moved = first.start_byte - low
        new_start = starts[i] + moved
        leaf = root.descendant_for_byte_range(new_start, new_start)
        if leaf is not None and leaf.start_byte == new_start:
            row = self._positions.position(new_start, leaf.start_point)[0]
        else:  # pragma: no cover - a top-level node starting with an empty node
            row = self._positions.line_of_byte(new_start)
        shift = row - self._chunk_rows[i]
        defs = self._definitions[i:j]
        if shift:
            defs = [Definition(d.kind, d.name, d.qualified, d.start_line + shift, d.end_line + shift) for d in defs]
        found.definitions.extend(defs)
        found.depths.extend(self._depths[i:j])
        found.starts.extend([s + moved for s in starts[i:j]] if moved else starts[i:j])
        found.rows.extend([r + shift for r in self._chunk_rows[i:j]] if shift else self._chunk_rows[i:j])

    def _is_clean(self, node: Node) -> bool:
        if self._dirty is None:
            return False
        i = bisect_left(self._dirty_ends, node.start_byte)
        return i == len(self._dirty) or self._dirty[i][0] > node.end_byte

    def _previous_start(self, byte: int) -> int:
        i = bisect_left(self._change_ends, byte)
        return byte - (self._growth[i - 1] if i else 0)

    def _visit(self, node: Node, parent: Node | None, ctx: Context, defs: list[Definition], depths: list[int]) -> None:
        # Parents are passed down: Node.parent searches from the root, which is slow in big files.
        cacheable = parent is not None and not wraps(parent)
        if cacheable:
            size = node.end_byte - node.start_byte
            parent_type = parent.type if parent is not None else None
            key = (node.start_byte, size, node.type, parent_type, ctx)
            if self._is_clean(node):
                hit = self._old_cache.get((self._previous_start(node.start_byte), *key[1:]))
                if hit is not None:
                    self._reuse(node, key, hit, defs, depths)
                    return
            if size <= _SMALL:
                found, found_depths = self._query(node, parent, ctx)
                self._cache[key] = (self._positions.position(node.start_byte, node.start_point)[0], found, found_depths)
                defs.extend(found)
                depths.extend(found_depths)
                return
        first = len(defs)
        inner = ctx
        if node.type in self._types and is_definition(node, parent):
            made = self._maker.make(node, parent, ctx)
            if made is not None:
                definition, inner = made
                defs.append(definition)
                depths.append(ctx[2])
        for child in node.named_children:
            if child.named_child_count:
                self._visit(child, node, inner, defs, depths)
        if cacheable:
            self._cache[key] = (
                self._positions.position(node.start_byte, node.start_point)[0],
                defs[first:],
                depths[first:],
            )

    def _reuse(
        self, node: Node, key: tuple[object, ...], hit: _Entry, defs: list[Definition], depths: list[int]
    ) -> None:
        line = self._positions.position(node.start_byte, node.start_point)[0]
        then, found, found_depths = hit
        if line != then:
            delta = line - then
            found = [Definition(d.kind, d.name, d.qualified, d.start_line + delta, d.end_line + delta) for d in found]
        self._cache[key] = (line, found, found_depths)
        defs.extend(found)
        depths.extend(found_depths)

    def _query(self, chunk: Node, chunk_parent: Node | None, ctx: Context) -> tuple[list[Definition], list[int]]:
        """The definitions inside a small subtree, found by one query run in C."""
        captures = self._cursor.captures(chunk).get("def")
        if not captures:
            return [], []
        found: list[Definition] = []
        depths: list[int] = []
        stack: list[tuple[int, Context]] = []  # (end byte, context inside) of open definitions
        for candidate in sorted(captures, key=lambda n: (n.start_byte, -n.end_byte)):
            parent = chunk_parent if candidate == chunk else _parent_within(chunk, candidate)
            if not is_definition(candidate, parent):
                continue
            while stack and candidate.end_byte > stack[-1][0]:
                stack.pop()
            outer = stack[-1][1] if stack else ctx
            made = self._maker.make(candidate, parent, outer)
            if made is None:
                continue
            found.append(made[0])
            depths.append(outer[2])
            stack.append((candidate.end_byte, made[1]))
        return found, depths

    def enclosing(self, first_line: int, last_line: int) -> list[Definition]:
        """Definitions overlapping the lines, innermost first (at most MAX_ENCLOSING, no repeats)."""
        if last_line < first_line:
            first_line, last_line = last_line, first_line
        hits = [
            (depth, index)
            for index, (d, depth) in enumerate(zip(self._definitions, self._depths, strict=True))
            if d.start_line <= last_line and d.end_line >= first_line
        ]
        hits.sort(key=lambda h: (-h[0], h[1]))
        result: list[Definition] = []
        seen: set[str] = set()
        for _, index in hits:
            d = self._definitions[index]
            if d.label not in seen:
                seen.add(d.label)
                result.append(d)
                if len(result) == self.MAX_ENCLOSING:
                    break
        return result

    # -- errors --------------------------------------------------------------------------------
    def syntax_errors(self, limit: int = 20) -> list[SyntaxIssue]:
        """ERROR and MISSING nodes in document order; only subtrees that contain one are visited."""
        return find_syntax_errors(self.tree, self._positions, limit)


def _parent_within(ancestor: Node, node: Node) -> Node | None:
    """The parent of `node`, searched from `ancestor` down (cheap in a small subtree)."""
    current = ancestor
    while True:
        child = current.child_with_descendant(node)
        if child is None:
            return None
        if child == node:
            return current
        current = child


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
