"""What a definition is in each language, and what one node defines.

The tables say which node types can be definitions (:func:`is_definition` has the last word) and
what kind each is; :class:`DefinitionMaker` reads a definition node's name, scope and lines. Where
in a tree to look for them is :mod:`proactive_ls.sensing.syntax.document`'s business.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

from tree_sitter import Node, Query

from proactive_ls.sensing.syntax.languages import load_language
from proactive_ls.sensing.syntax.positions import Positions

__all__ = ["DEFINITION_TYPES", "Context", "Definition", "DefinitionMaker", "definition_query", "is_definition", "wraps"]

# The node types that can be definitions; is_definition has the last word.
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
DEFINITION_TYPES: dict[str, frozenset[str]] = {
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
def definition_query(name: str) -> Query:
    """Finds the candidate nodes in C; a pure function of the (immutable) language."""
    types = " ".join(f"({t})" for t in sorted(DEFINITION_TYPES[name]))
    return Query(load_language(name), f"[{types}] @def")


def is_definition(node: Node, parent: Node | None) -> bool:
    """Whether a node of one of DEFINITION_TYPES really defines something."""
    kind = node.type
    if kind in ("variable_declarator", "field_definition", "public_field_definition"):
        value = node.child_by_field_name("value")
        return value is not None and value.type in _FUNCTION_VALUES
    if kind == "method_definition":
        return parent is not None and parent.type == "class_body"
    if kind in _NEEDS_BODY:
        return node.child_by_field_name("body") is not None
    return True


def wraps(parent: Node) -> bool:
    """Whether a definition's range (or name) lies partly in this parent: decorators, template
    headers, ``typedef struct {...} Name;``. Its child is then never looked up on its own."""
    return parent.type in _WRAPPERS or parent.type == "type_definition"


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


# Where a subtree sits: the scope its definitions are qualified with, the kind of the definition
# around it, and how deep that is. A subtree's definitions depend only on its text and this.
Context = tuple[str, str | None, int]


class _Raw(NamedTuple):
    kind: str
    name: str
    scope: str | None = None  # an explicit scope written in the definition (Go receiver, C++ A::f)
    child_scope: str | None = None  # what members are qualified with, if not the name (Rust impl)


class DefinitionMaker:
    """Makes the :class:`Definition` of a definition node of one language, in its context."""

    def __init__(self, language: str, positions: Positions) -> None:
        self.language = language
        self._sep = _SEPARATOR.get(language, ".")
        self._position = positions.position
        self._text = positions.text

    def make(self, node: Node, parent: Node | None, ctx: Context) -> tuple[Definition, Context] | None:
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
        span = parent if parent is not None and wraps(parent) else node
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
