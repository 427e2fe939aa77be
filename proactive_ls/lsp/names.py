"""The names of the proactive-ls protocol and its converter: what the server needs before its
first answer.

An editor waits for the initialize response; registering the handlers needs only these names,
so this module imports pygls and lsprotocol and nothing of pydantic or the engine.
:mod:`proactive_ls.lsp.protocol` re-exports every name: the rest of the package imports them
from there (or from here, on the start-up path), and nothing else writes one.
"""

from __future__ import annotations

from typing import Any

import cattrs
from lsprotocol import converters
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage

PROPOSAL = "proactive/proposal"
PROPOSAL_RESOLVED = "proactive/proposalResolved"
TERMINAL_COMMAND = "proactive/terminalCommand"
DIAGNOSTICS = "proactive/diagnostics"
EVENT = "proactive/event"
REPLAY_ADVANCE = "proactive/replay/advance"

COMMAND_ACCEPT = "proactive.accept"
COMMAND_REJECT = "proactive.reject"
COMMAND_SNOOZE = "proactive.snooze"
COMMAND_STATUS = "proactive.status"
COMMAND_PAUSE = "proactive.pause"
COMMAND_RESUME = "proactive.resume"
COMMAND_MUTE = "proactive.mute"
COMMAND_UNMUTE = "proactive.unmute"
COMMAND_MUTES = "proactive.mutes"
COMMAND_PROPOSE_NOW = "proactive.proposeNow"
COMMANDS = (
    COMMAND_ACCEPT,
    COMMAND_REJECT,
    COMMAND_SNOOZE,
    COMMAND_STATUS,
    COMMAND_PAUSE,
    COMMAND_RESUME,
    COMMAND_MUTE,
    COMMAND_UNMUTE,
    COMMAND_MUTES,
    COMMAND_PROPOSE_NOW,
)

#: The kind of every proactive code action. Not ``quickfix`` (and never preferred): "Auto Fix" and
#: ``code_action({apply = true})`` pick preferred quick fixes, and a proposal must never win over a
#: real fix from pyright or ruff. Under ``source`` it is no fix at all, and no on-save setting picks
#: it unless the user names it (``source.fixAll`` and ``source.organizeImports`` do not match it).
CODE_ACTION_KIND = "source.proactive"


def _keep_params(obj: dict[str, Any], cls: type) -> Any:
    """Keep custom messages' params as plain JSON (pygls would make namedtuples of them)."""
    return cls(**obj)


def converter() -> cattrs.Converter:
    """lsprotocol's converter, with our own messages' params left as JSON for the wire models."""
    conv = converters.get_converter()
    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        conv.register_structure_hook(cls, _keep_params)
    return conv


__all__ = [
    "CODE_ACTION_KIND",
    "COMMANDS",
    "COMMAND_ACCEPT",
    "COMMAND_MUTE",
    "COMMAND_MUTES",
    "COMMAND_PAUSE",
    "COMMAND_PROPOSE_NOW",
    "COMMAND_REJECT",
    "COMMAND_RESUME",
    "COMMAND_SNOOZE",
    "COMMAND_STATUS",
    "COMMAND_UNMUTE",
    "DIAGNOSTICS",
    "EVENT",
    "PROPOSAL",
    "PROPOSAL_RESOLVED",
    "REPLAY_ADVANCE",
    "TERMINAL_COMMAND",
    "converter",
]
