"""The shape of the package holds: no import cycle, no LSP inside the engine, one protocol module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "proactive_ls"
PROTOCOL = PACKAGE / "lsp" / "protocol.py"
NAMES = PACKAGE / "lsp" / "names.py"  # the protocol's names, importable before pydantic (start-up)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> Iterator[str]:
    """Every proactive_ls module `path` imports, at module level or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from a import b` imports the module a.b when there is one, else a name of a.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("proactive_ls"):
                yield name


GRAPH = {name: sorted(set(imported(path)) - {name}) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": []}) is None


def lsp_free(name: str) -> bool:
    return not name.startswith(("proactive_ls.lsp", "proactive_ls.replay.over_lsp"))


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if m.startswith(("proactive_ls.engine", "proactive_ls.sensing", "proactive_ls.proposers"))]
    + ["proactive_ls.session", "proactive_ls.inputs", "proactive_ls.events", "proactive_ls.replay.engine"],
)
def test_the_engine_side_knows_nothing_about_lsp(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    third_party = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not third_party & {"lsprotocol", "pygls", "pytest_lsp"}
    assert all(lsp_free(dep) for dep in GRAPH[module]), GRAPH[module]


def string_literals(path: Path) -> Iterator[tuple[int, str]]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def is_method_name(text: str) -> bool:
    names = ("proactive.accept", "proactive.reject", "proactive.snooze", "proactive.status")
    return text.startswith("proactive/") or text in names


def test_method_names_are_written_only_in_the_protocol_module() -> None:
    files = sorted(PACKAGE.rglob("*.py")) + sorted((REPO / "tests").rglob("*.py")) + sorted(REPO.glob("scripts/*.py"))
    found = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for path in files
        if path not in (PROTOCOL, NAMES, Path(__file__))
        for line, text in string_literals(path)
        if is_method_name(text)
    ]
    assert not found, "use the names in proactive_ls/lsp/protocol.py:\n" + "\n".join(found)
    assert any(is_method_name(text) for _, text in string_literals(NAMES))


def test_the_server_reaches_no_session_internals() -> None:
    """Handlers call the session's inputs and use cases, never its engine, documents or clock."""
    internals = {"engine", "documents", "driver", "stepper", "diagnostics", "feedback", "git"}
    for path in sorted((PACKAGE / "lsp").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        reached = [
            f"{path.name}:{node.lineno}: .{node.attr}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr in internals
            and isinstance(node.value, ast.Attribute | ast.Name | ast.Call)
            and "session" in ast.unparse(node.value)
        ]
        assert not reached, reached
