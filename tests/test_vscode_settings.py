"""The VS Code extension's typed settings are the server's settings model, one entry per field."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

from proactive_ls.config import Settings

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "client-vscode" / "package.json"


def _server_section() -> dict[str, typing.Any]:
    sections = json.loads(PACKAGE.read_text(encoding="utf-8"))["contributes"]["configuration"]
    (section,) = [s for s in sections if s.get("id") == "proactive.server"]
    return typing.cast(dict[str, typing.Any], section["properties"])


def test_package_json_is_generated_from_the_settings_model() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make-vscode-settings.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_server_setting_has_a_typed_entry_with_default_and_description() -> None:
    props = _server_section()
    schema = Settings.model_json_schema()
    defaults = Settings().model_dump(mode="json", by_alias=True)
    assert set(props) == {f"proactive.{name}" for name in schema["properties"]}
    for name, node in schema["properties"].items():
        prop = props[f"proactive.{name}"]
        assert prop["type"], name
        assert prop["description"].strip(), name
        assert prop["default"] == defaults[name], name
        if "enum" in node:
            assert prop["enum"] == node["enum"], name


def test_literal_settings_are_enums_and_optional_ones_nullable() -> None:
    props = _server_section()
    assert props["proactive.eagerness"]["enum"] == ["quiet", "normal", "eager"]
    assert props["proactive.backend"]["type"] == "string"
    # A nullable scalar is typed by its scalar (the Settings editor has a widget for it), default none.
    assert props["proactive.gateThreshold"]["type"] == "number"
    assert props["proactive.gateThreshold"]["default"] is None
    assert props["proactive.feedbackLog"]["type"] == "string"
    assert props["proactive.model"]["type"] == ["object", "null"]
    assert props["proactive.maxPerHour"]["type"] == "integer"
    assert props["proactive.maxPerHour"]["minimum"] == 0


def test_client_settings_do_not_shadow_server_settings() -> None:
    sections = json.loads(PACKAGE.read_text(encoding="utf-8"))["contributes"]["configuration"]
    client = {k for s in sections if s.get("id") != "proactive.server" for k in s["properties"]}
    assert client, "the extension's own settings (serverCommand, python, ...) are declared"
    assert not client & set(_server_section())
