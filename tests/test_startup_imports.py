"""What `proactive-ls serve` imports before it can answer initialize (the editor waits for that).

Not a timing test: it lists modules. Registering the handlers needs pygls, lsprotocol and the
protocol's names; pydantic, the settings, the session, the engine, tree-sitter and GitPython
come after the initialize response, when the first message makes the session.
"""

from __future__ import annotations

import json
import subprocess
import sys

from proactive_ls.lsp.names import CODE_ACTION_KIND, COMMANDS

HEAVY = ("pydantic", "tree_sitter", "git", "typer", "rich", "proactive_ls.config", "proactive_ls.session")


def test_the_server_answers_initialize_without_the_heavy_modules() -> None:
    code = (
        "import json, sys\n"
        "from lsprotocol import types\n"
        "from proactive_ls.launch import main\n"
        "from proactive_ls.lsp.server import create_server\n"
        "server = create_server()\n"
        "params = types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=None)\n"
        "handler = server.protocol.lsp_initialize(params)\n"
        "user, args, _ = next(handler)\n"  # pygls's own handler hands ours the params
        "user(*args)\n"
        "try:\n"
        "    next(handler)\n"
        "except StopIteration as done:\n"
        "    result = done.value\n"
        "caps = result.capabilities\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'commands': caps.execute_command_provider.commands,\n"
        "                  'code_actions': caps.code_action_provider.code_action_kinds}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    answer = json.loads(proc.stdout)
    loaded = [m for m in answer["modules"] if m.split(".")[0] in HEAVY or m in HEAVY]
    assert not loaded, f"imported before the initialize response: {loaded}"
    # and the answer is whole: every command and the code action kind are announced
    assert sorted(answer["commands"]) == sorted(COMMANDS) and answer["code_actions"] == [CODE_ACTION_KIND]
