"""Code structure of an open document, kept up to date incrementally with tree-sitter.

Each didChange only moves the old tree's nodes (:meth:`SyntaxDocument.edit`, microseconds); the
parse itself waits for the end of an edit burst (:meth:`SyntaxDocument.reparse`) and reuses
every subtree the edits did not touch. From the tree come the definitions (functions, methods,
classes, ...), the definitions an edit falls in, and the syntax errors.

Positions: tree-sitter counts rows at LF only, while LSP also ends a line at a lone CR. As long
as a document has no lone CR both agree and node points are used directly; in a document with
lone CRs lines are found from byte offsets through the mirror instead.
"""

from __future__ import annotations

import functools
import importlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import NamedTuple

from tree_sitter import Language, Node, Parser, Query, QueryCursor, Tree

from proactive_ls.sensing.mirror import DocumentMirror, EditSpan, units_from_index

# -- languages ---------------------------------------------------------------------------------

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


# The node types that can be definitions; _is_definition has the last word.
_JS_TYPES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "method_definition",
        "variable_declarator",
    }
)
_TS_TYPES = _JS_TYPES | {
    "abstract_class_declaration",
    "interface_declaration",
    "type_alias_declaration",
    "enum_declaration",
    "internal_module",
    "public_field_definition",
}
_C_TYPES = frozenset({"function_definition", "struct_specifier", "union_specifier", "enum_specifier"})
_DEFINITION_TYPES: dict[str, frozenset[str]] = {
    "python": frozenset({"function_definition", "class_definition"}),
    "javascript": _JS_TYPES | {"field_definition"},
    "typescript": _TS_TYPES,
    "tsx": _TS_TYPES,
    "go": frozenset({"function_declaration", "method_declaration", "type_spec"}),
    "rust": frozenset(
        {
            "function_item",
            "function_signature_item",
            "struct_item",
            "enum_item",
            "union_item",
            "trait_item",
            "impl_item",
            "mod_item",
            "macro_definition",
        }
    ),
    "java": frozenset(
        {
            "class_declaration",
            "interface_declaration",
            "enum_declaration",
            "record_declaration",
            "annotation_type_declaration",
            "method_declaration",
            "constructor_declaration",
        }
    ),
    "c": _C_TYPES,
    "cpp": _C_TYPES | {"class_specifier", "namespace_definition"},
}
# A variable or class field is a definition when a function is assigned to it.
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "generator_function"})
_NEEDS_BODY = frozenset({"struct_specifier", "union_specifier", "enum_specifier", "class_specifier"})

_SEPARATOR: dict[str, str] = {"rust": "::", "cpp": "::"}

# What a definition node is, by node type (functions become methods inside a class-like scope).
_KINDS: dict[str, str] = {
    "function_definition": "function",
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "variable_declarator": "function",
    "function_item": "function",
    "function_signature_item": "function",
    "class_definition": "class",
    "class_declaration": "class",
    "abstract_class_declaration": "class",
    "class_specifier": "class",
    "method_definition": "method",
    "method_declaration": "method",
    "field_definition": "method",
    "public_field_definition": "method",
    "constructor_declaration": "constructor",
    "interface_declaration": "interface",
    "annotation_type_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "enum_item": "enum",
    "enum_specifier": "enum",
    "record_declaration": "record",
    "struct_item": "struct",
    "struct_specifier": "struct",
    "union_item": "union",
    "union_specifier": "union",
    "trait_item": "trait",
    "impl_item": "impl",
    "internal_module": "namespace",
    "namespace_definition": "namespace",
    "mod_item": "module",
    "macro_definition": "macro",
}
_CLASS_LIKE = frozenset({"class", "struct", "interface", "enum", "record", "trait", "impl", "union"})
_GO_TYPE_KINDS = {"struct_type": "struct", "interface_type": "interface"}
# Where a C/C++ declarator chain ends in a name.
_C_NAMES = frozenset(
    {
        "identifier",
        "field_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "template_function",
        "type_identifier",
    }
)
# Wrappers whose range belongs to the definition (decorators, template headers).
_WRAPPERS = frozenset({"decorated_definition", "template_declaration"})


@functools.cache
def _definition_query(name: str) -> Query:
    """Finds the candidate nodes in C; a pure function of the (immutable) language."""
    types = " ".join(f"({t})" for t in sorted(_DEFINITION_TYPES[name]))
    return Query(load_language(name), f"[{types}] @def")


def _is_definition(node: Node, parent: Node | None) -> bool:
    """Whether a node of one of _DEFINITION_TYPES really defines something."""
    kind = node.type
    if kind in ("variable_declarator", "field_definition", "public_field_definition"):
        value = node.child_by_field_name("value")
        return value is not None and value.type in _FUNCTION_VALUES
    if kind == "method_definition":
        return parent is not None and parent.type == "class_body"
    if kind in _NEEDS_BODY:
        return node.child_by_field_name("body") is not None
    return True


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """A named definition; lines are 0-based LSP lines, end inclusive."""

    kind: str
    name: str
    qualified: str
    start_line: int
    end_line: int

    @property
    def label(self) -> str:
        return f"{self.kind} `{self.qualified}`"

    @property
    def scope(self) -> str:
        """The qualified name of the enclosing scope with its separator ('Parser.'), or ''."""
        return self.qualified[: len(self.qualified) - len(self.name)]


@dataclass(frozen=True)
class SyntaxIssue:
    """An ERROR or MISSING node: 0-based line and column in the mirror's position encoding
    (UTF-16 code units unless the client negotiated another), as LSP positions are."""

    line: int
    column: int
    missing: str | None = None


class _Raw(NamedTuple):
    kind: str
    name: str
    scope: str | None = None  # an explicit scope written in the definition (Go receiver, C++ A::f)
    child_scope: str | None = None  # what members are qualified with, if not the name (Rust impl)


# Where a subtree sits: the scope its definitions are qualified with, the kind of the definition
# around it, and how deep that is. A subtree's definitions depend only on its text and this.
_Context = tuple[str, str | None, int]
_Entry = tuple[int, list[Definition], list[int]]  # (first line when computed, definitions, depths)
_SMALL = 4096  # bytes: below this one query finds a subtree's definitions; above it, descend
_LINE_READS = 64  # read calls served line by line before one copy of the whole text is made
_CHUNK = 8192  # bytes handed to tree-sitter per call from that copy


class _Changes:
    """Byte ranges changed since the last parse, in current coordinates, with how much each grew.

    Lets the next collection of definitions reuse what it found in subtrees no edit touched:
    a clean position p was p - (growth of the ranges before it) in the previous parse.
    """

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int, int]] = []  # sorted, disjoint (start, end, growth)

    def add(self, start: int, old_end: int, new_end: int) -> None:
        growth = new_end - old_end
        lo, hi, total = start, new_end, growth
        kept: list[tuple[int, int, int]] = []
        for r_start, r_end, r_growth in self.ranges:
            if r_end < start:
                kept.append((r_start, r_end, r_growth))
            elif r_start > old_end:
                kept.append((r_start + growth, r_end + growth, r_growth))
            else:  # overlaps or touches the replaced text: one range now
                lo = min(lo, r_start)
                hi = max(hi, r_end + growth if r_end >= old_end else new_end)
                total += r_growth
        kept.append((lo, hi, total))
        kept.sort()
        self.ranges = kept


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
        self._sep = _SEPARATOR.get(language, ".")
        self._types = _DEFINITION_TYPES[language]
        self._parser = Parser(load_language(language))
        self._lone_cr = _has_lone_cr(mirror.lines)
        self._tree: Tree = self._parse(None)
        self._changes = _Changes()
        self._cache: dict[tuple[object, ...], _Entry] = {}
        self._definitions: list[Definition] = []
        self._depths: list[int] = []  # how deep each definition is nested
        self._chunk_starts: list[int] = []  # start byte of the top-level node each one is in
        self._chunk_rows: list[int] = []  # and its line
        self._collect_definitions(dirty=None)

    @property
    def tree(self) -> Tree:
        return self._tree

    def _reader(self) -> Callable[[int, tuple[int, int]], bytes]:
        """The read callback of one parse.

        It reads the mirror's lines (by point while tree-sitter's rows agree with them, else by
        byte offset). Some grammars (JavaScript, ...) ask again at every reused statement; past
        a few dozen calls one encoded copy of the text is cheaper than more line lookups.
        """
        mirror, lines, by_point = self.mirror, self.mirror.lines, not self._lone_cr
        calls = 0
        data: bytes | None = None

        def read(byte_offset: int, point: tuple[int, int]) -> bytes:
            nonlocal calls, data
            if data is not None:
                return data[byte_offset : byte_offset + _CHUNK]
            calls += 1
            if calls > _LINE_READS:
                data = mirror.text.encode("utf-8")
                return data[byte_offset : byte_offset + _CHUNK]
            if by_point:
                row, column = point
                if row < len(lines):
                    line = lines[row].encode("utf-8")
                    if column < len(line):
                        return line[column:]
            return mirror.read_bytes(byte_offset, point)

        return read

    def _parse(self, old: Tree | None) -> Tree:
        read = self._reader()
        tree = self._parser.parse(read, old) if old is not None else self._parser.parse(read)
        if tree is None:  # pragma: no cover - only with a timeout or a cancelled parse
            raise RuntimeError("tree-sitter did not finish parsing")
        return tree

    def edit(self, span: EditSpan) -> None:
        """Tell the tree what one applied change moved; the parse waits for :meth:`reparse`."""
        self._tree.edit(
            span.start_byte,
            span.old_end_byte,
            span.new_end_byte,
            span.start_point,
            span.old_end_point,
            span.new_end_point,
        )
        self._changes.add(span.start_byte, span.old_end_byte, span.new_end_byte)
        if not self._lone_cr:
            lines = self.mirror.lines
            self._lone_cr = _has_lone_cr(lines[max(span.start_line - 1, 0) : span.new_end_line + 2])

    def reparse(self) -> None:
        """Parse again, reusing the edited old tree; then update the definitions."""
        if self._lone_cr and not _has_lone_cr(self.mirror.lines):
            # The last lone CR is gone, but the tree's points were kept in the mirror's rows;
            # one parse from scratch brings them back to tree-sitter's (rare: classic Mac files).
            self._lone_cr = False
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

    # -- positions -----------------------------------------------------------------------------
    def _line_of_byte(self, byte: int) -> int:
        mirror = self.mirror
        return bisect_right(range(mirror.line_count), byte, key=mirror.line_start_byte) - 1

    def _position(self, byte: int, point: tuple[int, int]) -> tuple[int, int]:
        """(line, byte column) of a node boundary."""
        if not self._lone_cr:
            return point[0], point[1]
        line = self._line_of_byte(byte)
        return line, byte - self.mirror.line_start_byte(line)

    def _text(self, node: Node) -> str:
        line, column = self._position(node.start_byte, node.start_point)
        size = node.end_byte - node.start_byte
        lines = self.mirror.lines
        raw = lines[line].encode("utf-8")
        while len(raw) < column + size and line + 1 < len(lines):  # a name across lines (rare)
            line += 1
            raw += lines[line].encode("utf-8")
        return raw[column : column + size].decode("utf-8", errors="replace")

    def _units(self, line: int, byte_column: int) -> int:
        text = self.mirror.lines[line] if line < self.mirror.line_count else ""
        if text.isascii():
            return byte_column
        index = len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))
        return units_from_index(text, index, self.mirror.encoding)

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
        self._cursor = QueryCursor(_definition_query(self.language))
        found = _Found()
        root = self._tree.root_node
        if dirty is None:
            for child in root.children:
                self._top(child, root, found)
        else:
            resume: Node | None = root.child(0) if root.child_count else None
            for before, changed, after in self._around_changes(root, dirty):
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
            found.rows.extend([self._position(child.start_byte, child.start_point)[0]] * added)

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
            row = self._position(new_start, leaf.start_point)[0]
        else:  # pragma: no cover - a top-level node starting with an empty node
            row = self._line_of_byte(new_start)
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

    def _visit(self, node: Node, parent: Node | None, ctx: _Context, defs: list[Definition], depths: list[int]) -> None:
        # Parents are passed down: Node.parent searches from the root, which is slow in big files.
        cacheable = parent is not None and not _wraps(parent)
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
                self._cache[key] = (self._position(node.start_byte, node.start_point)[0], found, found_depths)
                defs.extend(found)
                depths.extend(found_depths)
                return
        first = len(defs)
        inner = ctx
        if node.type in self._types and _is_definition(node, parent):
            made = self._make(node, parent, ctx)
            if made is not None:
                definition, inner = made
                defs.append(definition)
                depths.append(ctx[2])
        for child in node.named_children:
            if child.named_child_count:
                self._visit(child, node, inner, defs, depths)
        if cacheable:
            self._cache[key] = (self._position(node.start_byte, node.start_point)[0], defs[first:], depths[first:])

    def _reuse(
        self, node: Node, key: tuple[object, ...], hit: _Entry, defs: list[Definition], depths: list[int]
    ) -> None:
        line = self._position(node.start_byte, node.start_point)[0]
        then, found, found_depths = hit
        if line != then:
            delta = line - then
            found = [Definition(d.kind, d.name, d.qualified, d.start_line + delta, d.end_line + delta) for d in found]
        self._cache[key] = (line, found, found_depths)
        defs.extend(found)
        depths.extend(found_depths)

    def _query(self, chunk: Node, chunk_parent: Node | None, ctx: _Context) -> tuple[list[Definition], list[int]]:
        """The definitions inside a small subtree, found by one query run in C."""
        captures = self._cursor.captures(chunk).get("def")
        if not captures:
            return [], []
        found: list[Definition] = []
        depths: list[int] = []
        stack: list[tuple[int, _Context]] = []  # (end byte, context inside) of open definitions
        for candidate in sorted(captures, key=lambda n: (n.start_byte, -n.end_byte)):
            parent = chunk_parent if candidate == chunk else _parent_within(chunk, candidate)
            if not _is_definition(candidate, parent):
                continue
            while stack and candidate.end_byte > stack[-1][0]:
                stack.pop()
            outer = stack[-1][1] if stack else ctx
            made = self._make(candidate, parent, outer)
            if made is None:
                continue
            found.append(made[0])
            depths.append(outer[2])
            stack.append((candidate.end_byte, made[1]))
        return found, depths

    def _make(self, node: Node, parent: Node | None, ctx: _Context) -> tuple[Definition, _Context] | None:
        """The definition a node makes in its context, and the context of its members."""
        raw = self._describe(node, parent)
        if raw is None or not raw.name:
            return None
        sep = self._sep
        base, outer_kind, depth = ctx
        if raw.scope:
            base = f"{base}{sep}{raw.scope}" if base else raw.scope
        qualified = f"{base}{sep}{raw.name}" if base else raw.name
        kind = raw.kind
        if kind == "function" and (raw.scope or outer_kind in _CLASS_LIKE):
            kind = "method"
        span = parent if parent is not None and _wraps(parent) else node
        start_line = self._position(span.start_byte, span.start_point)[0]
        end_line, end_column = self._position(span.end_byte, span.end_point)
        if end_column == 0 and end_line > start_line:
            end_line -= 1
        if raw.child_scope:
            members = f"{base}{sep}{raw.child_scope}" if base else raw.child_scope
        else:
            members = qualified
        return Definition(kind, raw.name, qualified, start_line, end_line), (members, kind, depth + 1)

    def _describe(self, node: Node, parent: Node | None) -> _Raw | None:
        kind = _KINDS.get(node.type)
        if kind is None:
            return self._describe_special(node)
        if node.type == "function_definition" and self.language in ("c", "cpp"):
            return self._describe_c_function(node)
        if self.language == "c" or self.language == "cpp":
            name_node = node.child_by_field_name("name")
            if name_node is None and parent is not None and parent.type == "type_definition":
                name_node = parent.child_by_field_name("declarator")  # typedef struct {...} T;
            if name_node is None:
                return None
            return _Raw(kind, self._text(name_node))
        if node.type == "impl_item":
            return self._describe_impl(node)
        if node.type == "method_declaration" and self.language == "go":
            name_node = node.child_by_field_name("name")
            receiver = node.child_by_field_name("receiver")
            scope = self._go_receiver(receiver) if receiver is not None else None
            return _Raw("method", self._text(name_node) if name_node is not None else "", scope)
        name_node = node.child_by_field_name("name")
        if name_node is None:
            name_node = node.child_by_field_name("property")  # a JavaScript class field
        if name_node is None:
            return None
        return _Raw(kind, self._text(name_node))

    def _describe_special(self, node: Node) -> _Raw | None:
        if node.type == "type_spec":  # Go
            name_node = node.child_by_field_name("name")
            type_node = node.child_by_field_name("type")
            kind = _GO_TYPE_KINDS.get(type_node.type, "type") if type_node is not None else "type"
            return _Raw(kind, self._text(name_node)) if name_node is not None else None
        return None

    def _describe_impl(self, node: Node) -> _Raw | None:
        type_node = node.child_by_field_name("type")
        if type_node is None:
            return None
        base = type_node.child_by_field_name("type") if type_node.type == "generic_type" else None
        type_name = self._text(base if base is not None else type_node)
        trait = node.child_by_field_name("trait")
        if trait is None:
            return _Raw("impl", type_name)
        return _Raw("impl", f"{self._text(trait)} for {type_name}", child_scope=type_name)

    def _go_receiver(self, receiver: Node) -> str | None:
        stack = [receiver]
        while stack:
            current = stack.pop()
            if current.type == "type_identifier":
                return self._text(current)
            stack.extend(reversed(current.named_children))
        return None

    def _describe_c_function(self, node: Node) -> _Raw | None:
        current: Node | None = node.child_by_field_name("declarator")
        while current is not None and current.type not in _C_NAMES:
            inner = current.child_by_field_name("declarator")
            current = inner if inner is not None else (current.named_children[0] if current.named_children else None)
        if current is None:
            return None
        if current.type != "qualified_identifier":
            return _Raw("function", self._text(current))
        scopes: list[str] = []
        while current is not None and current.type == "qualified_identifier":
            scope = current.child_by_field_name("scope")
            if scope is not None:
                scopes.append(self._text(scope))
            current = current.child_by_field_name("name")
        if current is None:
            return None
        return _Raw("method", self._text(current), self._sep.join(scopes) or None)

    def enclosing(self, first_line: int, last_line: int) -> list[Definition]:
        """Definitions overlapping the lines, innermost first (at most MAX_ENCLOSING, no repeats)."""
        if last_line < first_line:
            first_line, last_line = last_line, first_line
        hits = [
            (depth, index)
            for index, (d, depth) in enumerate(zip(self._definitions, self._depths))
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
        issues: list[SyntaxIssue] = []
        root = self._tree.root_node
        stack = [root] if root.has_error else []
        while stack and len(issues) < limit:
            node = stack.pop()
            if node.is_missing or node.is_error:
                line, column = self._position(node.start_byte, node.start_point)
                issues.append(SyntaxIssue(line, self._units(line, column), node.type if node.is_missing else None))
                continue
            stack.extend(reversed([child for child in node.children if child.has_error]))
        return issues


def _has_lone_cr(lines: list[str]) -> bool:
    """Whether a line ends with a CR alone (lines ending CRLF end with LF)."""
    return any(line.endswith("\r") for line in lines)


# -- comparing definitions -----------------------------------------------------------------------


def _parent(scope: str) -> str:
    """'Parser.' -> 'Parser', 'a::B::' -> 'a::B'."""
    return scope[:-2] if scope.endswith("::") else scope[:-1]


def _size(d: Definition) -> int:
    return d.end_line - d.start_line + 1


def diff_definitions(
    before: list[Definition], after: list[Definition]
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(added labels, removed labels, (old label, new label) renames) between two parses.

    Definitions match by kind and qualified name. A removed and an added definition of the same
    kind, in the same scope, at the same place (spans overlapping or adjacent once the lines are
    shifted like the nearest unchanged definition before it) and of similar size are a rename;
    the members of a renamed class are then matched under its new name, not reported.
    """
    remaining: dict[tuple[str, str], list[Definition]] = {}
    for d in after:
        remaining.setdefault((d.kind, d.qualified), []).append(d)
    removed: list[Definition] = []
    anchors: list[tuple[int, int]] = []  # (line before, line after) of unchanged definitions
    for d in before:
        same = remaining.get((d.kind, d.qualified))
        if same:
            anchors.append((d.start_line, same.pop(0).start_line))
        else:
            removed.append(d)
    added = [d for group in remaining.values() for d in group]
    if not removed or not added:
        return [d.label for d in _in_order(added, after)], [d.label for d in removed], []
    anchors.sort()
    anchor_lines = [a for a, _ in anchors]

    def shift(line: int) -> int:
        i = bisect_right(anchor_lines, line) - 1
        return anchors[i][1] - anchors[i][0] if i >= 0 else 0

    renamed_scopes: dict[str, str] = {}  # old qualified -> new qualified
    renamed: list[tuple[str, str]] = []
    still_removed: list[Definition] = []
    for old in sorted(removed, key=lambda d: (len(d.scope), d.start_line)):  # outer scopes first
        parent = _parent(old.scope) if old.scope else ""
        scope = old.scope
        if parent in renamed_scopes:
            scope = renamed_scopes[parent] + old.scope[len(parent) :]
            moved = next((a for a in added if a.kind == old.kind and a.qualified == scope + old.name), None)
            if moved is not None:  # a member of a renamed class, itself unchanged
                added.remove(moved)
                renamed_scopes[old.qualified] = moved.qualified
                continue
        offset = shift(old.start_line)
        lo, hi = old.start_line + offset - 1, old.end_line + offset + 1
        candidates = [
            a
            for a in added
            if a.kind == old.kind
            and a.scope == scope
            and a.start_line <= hi
            and a.end_line >= lo
            and abs(_size(a) - _size(old)) <= max(2, max(_size(a), _size(old)) // 2)
        ]
        if candidates:
            new = min(
                candidates, key=lambda a: (abs(a.start_line - old.start_line - offset), abs(_size(a) - _size(old)))
            )
            added.remove(new)
            renamed_scopes[old.qualified] = new.qualified
            renamed.append((old.label, new.label))
        else:
            still_removed.append(old)
    still_removed.sort(key=lambda d: d.start_line)
    return [d.label for d in _in_order(added, after)], [d.label for d in still_removed], renamed


def _in_order(subset: list[Definition], order: list[Definition]) -> list[Definition]:
    ids = {id(d) for d in subset}
    return [d for d in order if id(d) in ids]


def _wraps(parent: Node) -> bool:
    """Whether a definition's range (or name) lies partly in this parent: decorators, template
    headers, ``typedef struct {...} Name;``. Its child is then never looked up on its own."""
    return parent.type in _WRAPPERS or parent.type == "type_definition"


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
