"""Hypothesis fuzz of every request and notification handler, against the real server over stdio.

After each generated message the server must answer a request within 1 s and still propose on a
real failure (a pytest run that really failed). Short in the normal run; a long, nightly-style run:
``PROACTIVE_LS_FUZZ_EXAMPLES=3000 pytest tests/test_fuzz_handlers.py`` (minutes).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from proactive_ls.config import FEEDBACK_LOG_ENV, Settings
from proactive_ls.lsp import protocol
from tests.conftest import EXAMPLES, run_pytest
from tests.lsp_client import FAST_SETTINGS, ProactiveClient, capabilities, make_client

EXAMPLES_RUN = int(os.environ.get("PROACTIVE_LS_FUZZ_EXAMPLES", "25"))
ANSWER_WITHIN_S = 1.0

ints = st.one_of(
    st.integers(-3, 40), st.sampled_from([2**31 - 1, 2**31, 2**53, 2**63, -(2**63), 10**30, -1]), st.integers()
)
floats = st.one_of(st.floats(), st.sampled_from([1e300, -1e300, -1.0, 0.0, float("nan"), float("inf")]))
hostile_text = st.sampled_from(
    ["\udc80", "a\ud800b", "x" * 200_000, "file:///\udcff.py", "file:///etc/shadow", "../../etc/passwd", "\x1b[2J", ""]
)
texts = st.one_of(st.text(max_size=20), hostile_text)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, texts)
anyjson = st.recursive(
    scalars,
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=8), c, max_size=4)),
    max_leaves=12,
)


def maybe(good: Any) -> st.SearchStrategy[Any]:
    """Mostly the good value, sometimes anything."""
    return st.one_of(st.just(good), st.just(good), scalars, anyjson)


def position() -> st.SearchStrategy[Any]:
    return maybe({"line": 0, "character": 0}) | st.fixed_dictionaries({"line": ints, "character": ints})


def range_() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({"start": position(), "end": position()}) | anyjson


def messages(doc_uri: str, cwd: str) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(kind, method, params) for every handler, params mostly well-shaped with hostile values."""
    uri = st.one_of(st.just(doc_uri), texts, scalars)
    doc = st.fixed_dictionaries({"uri": uri})
    versioned = st.fixed_dictionaries({"uri": uri, "version": maybe(2)})
    change = st.one_of(
        st.fixed_dictionaries({"range": range_(), "text": texts}), st.fixed_dictionaries({"text": texts}), anyjson
    )
    n = st.just("n")
    r = st.just("r")
    notifications = st.one_of(
        st.tuples(
            n,
            st.just("textDocument/didOpen"),
            st.fixed_dictionaries(
                {
                    "textDocument": st.fixed_dictionaries(
                        {"uri": uri, "languageId": maybe("python"), "version": maybe(1), "text": texts}
                    )
                }
            )
            | anyjson,
        ),
        st.tuples(
            n,
            st.just("textDocument/didChange"),
            st.fixed_dictionaries({"textDocument": versioned, "contentChanges": st.lists(change, max_size=3)})
            | anyjson,
        ),
        st.tuples(n, st.just("textDocument/didSave"), st.fixed_dictionaries({"textDocument": doc}) | anyjson),
        st.tuples(n, st.just("textDocument/didClose"), st.fixed_dictionaries({"textDocument": doc}) | anyjson),
        st.tuples(
            n,
            st.just(protocol.TERMINAL_COMMAND),
            st.fixed_dictionaries(
                {
                    "commandLine": maybe("pytest"),
                    "cwd": maybe(cwd),
                    "exitCode": maybe(1),
                    "output": texts,
                    "durationMs": maybe(10),
                }
            )
            | anyjson,
        ),
        st.tuples(
            n,
            st.just(protocol.DIAGNOSTICS),
            st.fixed_dictionaries(
                {
                    "uri": uri,
                    "diagnostics": st.lists(
                        st.fixed_dictionaries({"range": range_(), "message": texts, "severity": maybe(1)}), max_size=3
                    ),
                }
            )
            | anyjson,
        ),
        st.tuples(
            n,
            st.just(protocol.EVENT),
            st.fixed_dictionaries({"kind": maybe("observation"), "text": texts, "time": floats | ints}) | anyjson,
        ),
        st.tuples(
            n,
            st.just("workspace/didChangeConfiguration"),
            st.fixed_dictionaries({"settings": st.dictionaries(st.sampled_from(list(GOOD)), anyjson, max_size=3)})
            | anyjson,
        ),
        st.tuples(
            n,
            st.just("workspace/didChangeWatchedFiles"),
            st.fixed_dictionaries({"changes": st.lists(st.fixed_dictionaries({"uri": uri, "type": ints}), max_size=2)})
            | anyjson,
        ),
        st.tuples(n, st.just("custom/unknown"), anyjson),
    )
    command_args = st.lists(anyjson, max_size=3)
    requests = st.one_of(
        st.tuples(
            r,
            st.just("textDocument/codeAction"),
            st.fixed_dictionaries({"textDocument": doc, "range": range_(), "context": maybe({"diagnostics": []})})
            | anyjson,
        ),
        st.tuples(
            r,
            st.just("workspace/executeCommand"),
            st.fixed_dictionaries(
                {"command": st.sampled_from([*protocol.COMMANDS, "proactive.bogus"]) | texts, "arguments": command_args}
            )
            | anyjson,
        ),
        st.tuples(r, st.just("custom/unknownRequest"), anyjson),
    )
    return st.one_of(notifications, requests).filter(_not_a_valid_snooze)


def _not_a_valid_snooze(message: tuple[str, str, Any]) -> bool:
    """A valid snooze silences the server on purpose: it would make 'still proposes' fail honestly."""
    _, method, params = message
    if method != "workspace/executeCommand" or not isinstance(params, dict):
        return True
    if params.get("command") != protocol.COMMAND_SNOOZE:
        return True
    args = params.get("arguments")
    if not isinstance(args, list) or not args:
        return not isinstance(args, list) and args is not None  # no arguments: the default snooze
    first = args[0]
    return isinstance(first, bool) or not isinstance(first, int | float) or not 0 < first <= protocol.SNOOZE_MAX_MINUTES


GOOD: dict[str, Any] = {
    **Settings().model_dump(by_alias=True, mode="json"),
    **FAST_SETTINGS,
    "maxPerHour": 3600,
    "ignoreAfterS": 600,
}


class Harness:
    """One real server for the whole fuzz run, driven from a private event loop."""

    def __init__(self, root: Path, log: Path, failure: dict[str, Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.root, self.log, self.failure = root, log, failure
        self.good = {**GOOD, "feedbackLog": str(log)}
        # The log is outside the workspace: set locally, as a user would (a client's is ignored then).
        self.env = {**os.environ, FEEDBACK_LOG_ENV: str(log), "XDG_DATA_HOME": str(log.parent / "data")}
        self.client: ProactiveClient = self.run(self._start())

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    async def _start(self) -> ProactiveClient:
        client = make_client()
        await client.start_io(
            sys.executable, "-m", "proactive_ls", "serve", "--log-level", "error", cwd=self.root, env=self.env
        )
        await client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities(True),
                root_uri=self.root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name="p")],
                initialization_options=self.good,
            )
        )
        await client.execute(protocol.COMMAND_STATUS)  # the session is made (after initialize) before timing
        return client

    async def send(self, kind: str, method: str, params: Any) -> None:
        """The message as raw JSON (NaN and lone surrogates included), not through the client's types."""
        rpc = self.client.protocol
        if kind == "n":
            rpc._send_data({"jsonrpc": "2.0", "method": method, "params": params})
            return
        msg_id = uuid.uuid4().hex
        answer: asyncio.Future[Any] = self.loop.create_future()
        rpc._request_futures[msg_id] = answer
        rpc._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            await asyncio.wait_for(answer, ANSWER_WITHIN_S * 5)
        except JsonRpcException as exc:
            assert "Traceback" not in str(exc) and "traceback" not in str(getattr(exc, "data", "") or "")

    async def still_serving(self) -> None:
        await self.send("n", "workspace/didChangeConfiguration", {"settings": {"proactive": self.good}})
        await asyncio.wait_for(self.client.execute(protocol.COMMAND_STATUS), ANSWER_WITHIN_S)
        seen = len(self.client.proposals)
        await self.send("n", protocol.TERMINAL_COMMAND, self.failure)
        proposal = await self.client.wait_until(
            lambda: self.client.proposals[seen] if len(self.client.proposals) > seen else None, timeout=15
        )
        await self.client.execute(protocol.COMMAND_ACCEPT, proposal["id"])

    def close(self) -> None:
        try:
            self.run(self.client.shutdown_session(), timeout=20)
        finally:
            self.loop.close()


def test_every_handler_survives_hostile_params_and_the_server_keeps_proposing(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "failing-test" / "workspace", project)
    code, output = run_pytest(project)
    assert code != 0
    failure = {"commandLine": "pytest", "cwd": str(project), "exitCode": code, "output": output}
    doc_uri = (project / "calc.py").as_uri() if (project / "calc.py").exists() else project.as_uri() + "/x.py"
    harness = Harness(project, tmp_path / "log.jsonl", failure)
    try:
        harness.run(harness.still_serving())  # the check itself works before any fuzzing

        @settings(
            max_examples=EXAMPLES_RUN,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        )
        @given(batch=st.lists(messages(doc_uri, str(project)), min_size=1, max_size=4))
        def case(batch: list[tuple[str, str, Any]]) -> None:
            for kind, method, params in batch:
                note(f"{kind} {method} {json.dumps(params, default=repr)[:300]}")
                harness.run(harness.send(kind, method, params))
            harness.run(harness.still_serving())

        case()
    finally:
        harness.close()
    for line in (tmp_path / "log.jsonl").read_text().splitlines():
        json.loads(line)  # the feedback log stays valid


KNOWN_KILLERS: list[tuple[str, str, Any]] = [
    ("n", protocol.EVENT, {"kind": "observation", "text": "nan", "time": float("nan")}),
    ("n", protocol.EVENT, {"kind": "observation", "text": "far", "time": 1e300}),
    ("n", protocol.EVENT, {"kind": "observation", "text": "negative", "time": -5}),
    (
        "n",
        "textDocument/didOpen",
        {"textDocument": {"uri": "file:///\udc80.py", "languageId": "python", "version": 1, "text": "a\ud800"}},
    ),
    (
        "r",
        "textDocument/codeAction",
        {
            "textDocument": {"uri": "file:///x.py"},
            "range": {"start": {"line": 2**63, "character": -1}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []},
        },
    ),
    ("r", "workspace/executeCommand", {"command": protocol.COMMAND_ACCEPT, "arguments": "not a list"}),
    ("r", "workspace/executeCommand", {"command": 5}),
    ("n", protocol.TERMINAL_COMMAND, {"commandLine": "x", "exitCode": 10**30, "durationMs": 10**30}),
]


def test_the_messages_that_once_silenced_the_engine_are_answered_and_dropped(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "failing-test" / "workspace", project)
    code, output = run_pytest(project)
    failure = {"commandLine": "pytest", "cwd": str(project), "exitCode": code, "output": output}
    harness = Harness(project, tmp_path / "log.jsonl", failure)
    try:
        for kind, method, params in KNOWN_KILLERS:
            harness.run(harness.send(kind, method, params))
            harness.run(harness.still_serving())
        assert not [m for m in harness.client.messages if "Error in server" in m.message]
    finally:
        harness.close()
