#!/usr/bin/env python3
"""Write the VS Code extension's typed server settings from the server's settings model.

Every field of ``proactive_ls.config.Settings`` becomes its own ``proactive.<name>`` entry (type,
default, description, enum) in the ``proactive.server`` section of client-vscode/package.json's
``contributes.configuration``, so the Settings UI can edit each one and they cannot drift apart.
Descriptions come from docs/configuration.md's table (the user-facing text), else the field's own.

python scripts/make-vscode-settings.py          # rewrite client-vscode/package.json
python scripts/make-vscode-settings.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from proactive_ls.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "client-vscode" / "package.json"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
SECTION_ID = "proactive.server"
SECTION_TITLE = "Proactive: server"
PREFIX = "proactive."
# Keys of the constraint vocabulary VS Code's settings schema understands as JSON Schema does.
KEEP = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "format")


def doc_descriptions(text: str) -> dict[str, str]:
    """The ``| `name` | default | meaning |`` rows of docs/configuration.md, by name."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*`([A-Za-z][A-Za-z0-9]*)`\s*\|[^|]*\|(.+)\|\s*$", line)
        if m:
            meaning = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", m.group(2).strip())
            out[m.group(1)] = meaning
    return out


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return dict(defs[ref.rsplit("/", 1)[-1]])
    return node


def vscode_property(
    name: str, node: dict[str, Any], defs: dict[str, Any], default: Any, description: str
) -> dict[str, Any]:
    """One JSON-schema property of the model as a VS Code configuration property."""
    node = _resolve(node, defs)
    variants = [_resolve(v, defs) for v in node.get("anyOf", [node])]
    types: list[str] = []
    out: dict[str, Any] = {}
    for v in variants:
        t = v.get("type", "object" if "properties" in v else None)
        if t is None:
            raise SystemExit(f"make-vscode-settings: {name}: cannot type {v}")
        if t not in types:
            types.append(t)
        for key in KEEP:
            if key in v and key != "format":
                out[key] = v[key]
        if "enum" in v:
            out["enum"] = v["enum"]
        if t == "array" and "items" in v:
            out["items"] = _resolve(v["items"], defs)
        if t == "object" and "properties" in v:
            out["properties"] = {
                k: {key: val for key, val in _resolve(p, defs).items() if key != "title"}
                for k, p in v["properties"].items()
            }
            if "required" in v:
                out["required"] = v["required"]
            out["additionalProperties"] = False
    # The Settings editor has no widget for a nullable scalar ("Edit in settings.json"): such a setting
    # is typed by its scalar, and its empty value (the extension sends "" as null) means "none".
    scalars = [t for t in types if t != "null"]
    if "null" in types and len(scalars) == 1 and scalars[0] in ("string", "number", "integer", "boolean"):
        types = scalars
    prop: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    prop.update(out)
    prop["default"] = default
    # Plain text for where VS Code shows no markdown (hovers in settings.json), markdown for the Settings UI.
    prop["description"] = description.replace("`", "")
    prop["markdownDescription"] = description
    return prop


def server_section() -> dict[str, Any]:
    schema = Settings.model_json_schema()
    defs = schema.get("$defs", {})
    defaults = Settings().model_dump(mode="json", by_alias=True)
    docs = doc_descriptions(CONFIG_DOC.read_text(encoding="utf-8"))
    properties: dict[str, Any] = {}
    for order, (name, node) in enumerate(schema["properties"].items()):
        description = docs.get(name) or node.get("description")
        if not description:
            raise SystemExit(
                f"make-vscode-settings: the setting {name!r} has no description "
                "(add it to docs/configuration.md's table or to the Field)"
            )
        prop = vscode_property(name, node, defs, defaults.get(name), description)
        prop["order"] = order
        properties[PREFIX + name] = prop
    return {"id": SECTION_ID, "title": SECTION_TITLE, "properties": properties}


def render(package: dict[str, Any]) -> dict[str, Any]:
    contributes = package.setdefault("contributes", {})
    sections = contributes.get("configuration", [])
    if isinstance(sections, dict):
        sections = [sections]
    section = server_section()
    kept = [s for s in sections if s.get("id") != SECTION_ID]
    # A key both sides have (say `enabled`, which the extension also reads) is declared once, by the server.
    for s in kept:
        for key in set(s.get("properties", {})) & set(section["properties"]):
            del s["properties"][key]
    contributes["configuration"] = [*kept, section]
    return package


def dumps(package: dict[str, Any]) -> str:
    return json.dumps(package, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    current = PACKAGE.read_text(encoding="utf-8")
    wanted = dumps(render(json.loads(current)))
    if "--check" in argv:
        if current != wanted:
            print(
                f"{PACKAGE.relative_to(ROOT)} is stale: run scripts/make-vscode-settings.py",
                file=sys.stderr,
            )
            return 1
        return 0
    PACKAGE.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
