"""What changed between two lists of definitions: added, removed and renamed ones.

A pure function of two parses' :class:`Definition` lists; it never looks at a tree.
"""

from __future__ import annotations

from bisect import bisect_right

from proactive_ls.sensing.syntax.definitions import Definition

__all__ = ["diff_definitions"]


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
    # Only what lies between the first and the last difference is compared: a burst changes a
    # few definitions of thousands. The same kinds and names before and after it are unchanged
    # (lines may have moved); the last of those before it gives the line shift of the rest.
    lo, n = 0, min(len(before), len(after))
    while lo < n and _same(before[lo], after[lo]):
        lo += 1
    hi = 0
    while hi < n - lo and _same(before[-1 - hi], after[-1 - hi]):
        hi += 1
    if lo or hi:
        base = after[lo - 1].start_line - before[lo - 1].start_line if lo else 0
        return _diff(before[lo : len(before) - hi], after[lo : len(after) - hi], base)
    return _diff(before, after, 0)


def _same(a: Definition, b: Definition) -> bool:
    return a is b or (a.kind == b.kind and a.qualified == b.qualified)


def _diff(
    before: list[Definition], after: list[Definition], base_shift: int
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
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
        return anchors[i][1] - anchors[i][0] if i >= 0 else base_shift

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
