#!/usr/bin/env python3
"""Write docs/settings.schema.json from the settings model, for clients to validate against.

python scripts/make-settings-schema.py          # rewrite it
python scripts/make-settings-schema.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from proactive_ls.config import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.schema.json"


def render() -> str:
    schema = Settings.model_json_schema(by_alias=True, mode="validation")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "proactive-ls settings",
        "description": "initializationOptions, workspace/didChangeConfiguration and workspace/configuration "
        "(section `proactive`); see docs/configuration.md. Unknown or invalid keys are reported and ignored alone.",
        **{k: v for k, v in schema.items() if k != "title"},
    }
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is stale: run scripts/make-settings-schema.py and commit it", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
