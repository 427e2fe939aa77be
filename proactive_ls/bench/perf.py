"""``proactive-ls bench perf``: every performance figure beside its floor, measured in the same run.

Each row is one figure for proactive-ls and the same figure for its floor, run on the same input,
interleaved, on the same (possibly busy) machine: a bare pygls server that stores the documents
and does nothing else, a null engine, a from-scratch parse. Ratios are what to compare across
machines; absolute numbers only say something about the machine they came from.

``--quick`` runs every scenario on small inputs: it shows the benchmark works (CI runs it), never
that anything is fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BARE_SERVER = r"""
from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare-pygls", "1", text_document_sync_kind=types.TextDocumentSyncKind.Incremental)

@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls, params):
    pass

@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls, params):
    return None

server.start_io()
"""

# One definition-rich line pattern per language: (file suffix, languageId, header, body line i).
_LANGUAGES: dict[str, tuple[str, str, Callable[[int], str]]] = {
    "python": (".py", "python", lambda i: f"def f{i}(v):\n    return v + {i}\n"),
    "javascript": (".js", "javascript", lambda i: f"function f{i}(v) {{\n  return v + {i};\n}}\n"),
    "typescript": (".ts", "typescript", lambda i: f"function f{i}(v: number): number {{\n  return v + {i};\n}}\n"),
    "tsx": (".tsx", "typescriptreact", lambda i: f"function f{i}(v: number) {{\n  return <b>{{v + {i}}}</b>;\n}}\n"),
    "go": (".go", "go", lambda i: f"func f{i}(v int) int {{\n\treturn v + {i}\n}}\n"),
    "rust": (".rs", "rust", lambda i: f"fn f{i}(v: i64) -> i64 {{\n    v + {i}\n}}\n"),
    "java": (".java", "java", lambda i: f"  int f{i}(int v) {{\n    return v + {i};\n  }}\n"),
    "c": (".c", "c", lambda i: f"int f{i}(int v) {{\n  return v + {i};\n}}\n"),
    "cpp": (".cpp", "cpp", lambda i: f"int f{i}(int v) {{\n  return v + {i};\n}}\n"),
}


def source_text(language: str, lines: int) -> str:
    """About `lines` lines of valid code in `language` (Java inside one class)."""
    make = _LANGUAGES[language][2]
    parts = []
    n = 0
    i = 0
    while n < lines:
        chunk = make(i)
        parts.append(chunk)
        n += chunk.count("\n")
        i += 1
    body = "".join(parts)
    return f"class Bench {{\n{body}}}\n" if language == "java" else body


@dataclass
class Row:
    figure: str
    unit: str
    value: float
    floor: float | None
    floor_name: str
    target: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# -- a server over stdio -------------------------------------------------------------------------


class _Probe:
    """Requests issued one after another while something else happens: the worst wait is how long
    the server's loop was blocked (a request queued behind notifications counts, as for a user)."""

    def __init__(self, client: Any, uri: str) -> None:
        from lsprotocol import types

        self.client = client
        self.params = types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0)
        )
        self.latencies: list[float] = []
        self._stop = asyncio.Event()

    async def roundtrip(self) -> float:
        from pygls.exceptions import JsonRpcException

        started = time.perf_counter()
        with contextlib.suppress(JsonRpcException):
            await asyncio.wait_for(self.client.text_document_hover_async(self.params), 300)
        return time.perf_counter() - started

    async def run(self) -> None:
        while not self._stop.is_set():
            self.latencies.append(await self.roundtrip())
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        self._stop.set()


@contextlib.asynccontextmanager
async def _server(command: list[str], root: Path, options: dict[str, Any] | None) -> AsyncIterator[tuple[Any, int]]:
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    from proactive_ls.lsp import protocol

    client = LanguageClient("bench", "1")

    def _proposal(ls: Any, params: Any) -> None:
        hook = getattr(client, "on_proposal", None)  # a scenario that times proposals sets it
        if hook is not None:
            hook()

    client.feature(protocol.PROPOSAL)(_proposal)

    await client.start_io(*command)
    process = client._server  # pygls keeps the subprocess here
    assert process is not None
    pid = process.pid
    await asyncio.wait_for(
        client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(experimental={"proactive": {"proposals": True}}),
                root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
                initialization_options=options,
            )
        ),
        120,
    )
    client.initialized(types.InitializedParams())
    try:
        yield client, pid
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_async(None), 30)
            client.exit(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.stop(), 30)  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):  # reaped inside the loop, not by the GC after it closed
            await asyncio.wait_for(process.wait(), 30)


def _open(client: Any, uri: str, language_id: str, text: str) -> None:
    from lsprotocol import types

    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=1, text=text)
        )
    )


def _change(client: Any, uri: str, version: int, edits: list[tuple[int, int, int, int, str]]) -> None:
    from lsprotocol import types

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=a, character=b), end=types.Position(line=c, character=d)
                    ),
                    text=text,
                )
                for a, b, c, d, text in edits
            ],
        )
    )


@dataclass
class Bench:
    quick: bool
    root: Path
    quiet_ms: int = 100

    @property
    def servers(self) -> dict[str, tuple[list[str], dict[str, Any] | None]]:
        bare = self.root / "bare_server.py"
        bare.write_text(BARE_SERVER)
        return {
            "bare": ([sys.executable, str(bare)], None),
            "proactive-ls": (
                # Its log goes to a file: pygls warns on stderr of every hover it has no handler for,
                # and a stderr pipe nobody reads fills up and stops the server in a long scenario.
                [sys.executable, "-m", "proactive_ls", "serve", "--log-file", str(self.root / "proactive-ls.log")],
                {"feedbackLog": str(self.root / "feedback.jsonl"), "editQuietMs": self.quiet_ms},
            ),
        }

    async def both(
        self,
        scenario: Callable[[Any, int, str], Awaitable[float]],
        workspace: Path | None = None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, float]:
        """One figure for proactive-ls and for the bare server, each in its own fresh process."""
        out: dict[str, float] = {}
        for name, (command, options) in self.servers.items():
            if options is not None and settings:
                options = {**options, **settings}
            async with _server(command, workspace or self.root, options) as (client, pid):
                out[name] = await scenario(client, pid, name)
        return out

    # -- the scenarios ---------------------------------------------------------------------------

    async def keystrokes(self) -> list[Row]:
        lines, changes = (2_000, 200) if self.quick else (10_000, 2_000)
        text = source_text("python", lines)
        uri = (self.root / "keys.py").as_uri()

        async def run(client: Any, pid: int, name: str) -> float:
            _open(client, uri, "python", text)
            probe = _Probe(client, uri)
            await probe.roundtrip()
            middle = lines // 2
            started = time.perf_counter()
            for i in range(changes):
                _change(client, uri, 2 + i, [(middle, 4 + i % 40, middle, 4 + i % 40, "x")])
            await probe.roundtrip()
            return (time.perf_counter() - started) / changes * 1000

        r = await self.both(run)
        return [Row(f"one keystroke, {lines}-line file", "ms", r["proactive-ls"], r["bare"], "bare pygls")]

    async def startup(self) -> list[Row]:
        rounds = 1 if self.quick else 5

        async def run(client: Any, pid: int, name: str) -> float:
            return 0.0

        times: dict[str, list[float]] = {"bare": [], "proactive-ls": []}
        for _ in range(rounds):
            for name, (command, options) in self.servers.items():
                started = time.perf_counter()
                async with _server(command, self.root, options):
                    times[name].append((time.perf_counter() - started) * 1000)
        cpu = {
            name: _import_cpu_ms(module)
            for name, module in (("bare", "pygls.lsp.server"), ("proactive-ls", ""), ("session", "session"))
        }
        return [
            Row(
                "start-up to the initialize response",
                "ms",
                statistics.median(times["proactive-ls"]),
                statistics.median(times["bare"]),
                "bare pygls",
                "<= 1.2x",
            ),
            Row(
                "import CPU before the initialize response",
                "ms",
                cpu["proactive-ls"],
                cpu["bare"],
                "import pygls server",
            ),
            Row(
                "import CPU of the serve path, session included",
                "ms",
                cpu["session"],
                cpu["bare"],
                "import pygls server",
            ),
        ]

    async def many_documents(self) -> list[Row]:
        count, lines = (10, 500) if self.quick else (50, 2_000)
        languages = list(_LANGUAGES)
        docs = []
        for i in range(count):
            language = languages[i % len(languages)]
            suffix, language_id, _ = _LANGUAGES[language]
            docs.append(((self.root / f"many{i}{suffix}").as_uri(), language_id, source_text(language, lines)))

        async def idle(client: Any, pid: int, name: str) -> float:
            await _Probe(client, docs[0][0]).roundtrip()
            return _rss_mb(pid)

        async def run(client: Any, pid: int, name: str) -> float:
            for uri, language_id, text in docs:
                _open(client, uri, language_id, text)
            await _Probe(client, docs[0][0]).roundtrip()
            return _rss_mb(pid)

        empty = await self.both(idle)
        full = await self.both(run)
        label = f"RSS with {count} open {lines}-line documents, 9 languages"
        return [
            Row("RSS idle (no document)", "MB", empty["proactive-ls"], empty["bare"], "bare pygls idle"),
            Row(label, "MB", full["proactive-ls"], full["bare"], "bare pygls, same documents", "< 100 MB"),
            Row(label + " vs bare idle", "MB", full["proactive-ls"], empty["bare"], "bare pygls idle", "< 1.5x"),
        ]

    async def burst_growth(self) -> list[Row]:
        first, last = (5, 20) if self.quick else (50, 1_000)
        lines = 2_000 if self.quick else 10_000
        text = source_text("python", lines)
        uri = (self.root / "bursts.py").as_uri()

        async def run(client: Any, pid: int, name: str) -> float:
            _open(client, uri, "python", text)
            probe = _Probe(client, uri)
            base = 0.0
            version = 2
            for n in range(1, last + 1):
                line = 1 + (n * 37) % (lines - 10)
                for k, char in enumerate("total"):
                    _change(client, uri, version, [(line, 4 + k, line, 4 + k, char)])
                    version += 1
                _change(client, uri, version, [(line, 4, line, 9, "")])
                version += 1
                await probe.roundtrip()
                await asyncio.sleep(self.quiet_ms / 1000 * 1.5)  # the burst ends (a benchmark may wait)
                if n == first:
                    base = _rss_mb(pid)
            await probe.roundtrip()
            return _rss_mb(pid) - base

        r = await self.both(run)
        return [
            Row(
                f"RSS growth from burst {first} to {last}, {lines}-line file",
                "MB",
                r["proactive-ls"],
                r["bare"],
                "bare pygls",
                "< 5 MB",
            )
        ]

    async def blocking(self) -> list[Row]:
        """Every worst-wait figure (each part can also run alone: ``--only pastes``)."""
        rows = await self.pastes()
        rows += await self.replace_all()
        rows += await self.burst_ends()
        rows += await self.open_in_repository()
        rows += await self.snapshots()
        return rows

    async def _during(self, client: Any, uri: str, action: Callable[[], Awaitable[None]]) -> float:
        """The worst wait of a request issued while `action` runs and its burst end follows."""
        probe = _Probe(client, uri)
        await probe.roundtrip()
        task = asyncio.create_task(probe.run())
        await action()
        await asyncio.sleep(self.settle)  # past the burst end: its parse is inside the window
        probe.stop()
        await task
        return max(probe.latencies) * 1000

    @property
    def settle(self) -> float:
        return self.quiet_ms / 1000 + 0.5

    @property
    def lines(self) -> int:
        return 2_000 if self.quick else 10_000

    async def pastes(self) -> list[Row]:
        """5 pastes of 1 MB (quick: 100 kB) into a 10k-line file."""
        lines = self.lines
        paste_kb = 100 if self.quick else 1000
        paste = source_text("python", paste_kb * 1024 // 20)[: paste_kb * 1024]
        paste = paste[: paste.rfind("\n") + 1]
        uri = (self.root / "paste.py").as_uri()

        async def pastes(client: Any, pid: int, name: str) -> float:
            _open(client, uri, "python", source_text("python", lines))

            async def act() -> None:
                for k in range(5):
                    _change(client, uri, 2 + k, [(lines // 2, 0, lines // 2, 0, paste)])
                    await asyncio.sleep(self.settle)

            return await self._during(client, uri, act)

        r = await self.both(pastes)
        return [
            Row(
                f"worst request wait, 5 x {paste_kb} kB pastes",
                "ms",
                r["proactive-ls"],
                r["bare"],
                "bare pygls",
                "< 50 ms",
            )
        ]

    async def replace_all(self) -> list[Row]:
        """Replace All: 2,000 edits in one didChange (in reverse order, as editors send them)."""
        edits_n = 200 if self.quick else 2_000
        ra_uri = (self.root / "replace.py").as_uri()
        ra_text = source_text("python", max(self.lines, edits_n * 2 + 10))

        async def replace_all(client: Any, pid: int, name: str) -> float:
            _open(client, ra_uri, "python", ra_text)
            edits = [(2 * k + 1, 4, 2 * k + 1, 10, "result") for k in reversed(range(edits_n))]

            async def act() -> None:
                _change(client, ra_uri, 2, edits)

            return await self._during(client, ra_uri, act)

        r = await self.both(replace_all)
        return [
            Row(
                f"worst request wait, Replace All of {edits_n} edits",
                "ms",
                r["proactive-ls"],
                r["bare"],
                "bare pygls",
                "< 50 ms",
            )
        ]

    async def burst_ends(self) -> list[Row]:
        """A typing burst's end in each language (quick: two of them)."""
        rows: list[Row] = []
        lines = self.lines
        for language, (suffix, language_id, _) in list(_LANGUAGES.items())[:: 8 if self.quick else 1]:
            lang_uri = (self.root / f"burst{suffix}").as_uri()
            lang_text = source_text(language, lines)

            async def burst(
                client: Any, pid: int, name: str, u: str = lang_uri, t: str = lang_text, li: str = language_id
            ) -> float:
                _open(client, u, li, t)
                line = lines // 2 + 1

                async def act() -> None:
                    for k in range(5):
                        _change(client, u, 2 + k, [(line, 0, line, 0, " ")])

                return await self._during(client, u, act)

            r = await self.both(burst)
            rows.append(
                Row(
                    f"worst request wait, burst end, {lines}-line {language}",
                    "ms",
                    r["proactive-ls"],
                    r["bare"],
                    "bare pygls",
                    "< 50 ms",
                )
            )
        return rows

    def repository(self) -> Path:
        """The bench's git repository of 20k small files (quick: 2k), made once per run."""
        files = 2_000 if self.quick else 20_000
        repo = self.root / "repo"
        return repo if (repo / ".git").exists() else _git_repository(repo, files)

    async def open_in_repository(self) -> list[Row]:
        """Opening 50 files in a 20k-file git repository (its first snapshot runs meanwhile)."""
        repo = self.repository()
        files = 2_000 if self.quick else 20_000
        opened = [repo / "src" / f"d{k % 100}" / f"m{k}.py" for k in range(0, files, max(1, files // 50))][:50]

        async def open_many(client: Any, pid: int, name: str) -> float:
            async def act() -> None:
                for path in opened:
                    _open(client, path.as_uri(), "python", path.read_text())

            return await self._during(client, opened[0].as_uri(), act)

        r = await self.both(open_many, workspace=repo)
        return [
            Row(
                f"worst request wait, opening 50 files in a {files}-file git repository",
                "ms",
                r["proactive-ls"],
                r["bare"],
                "bare pygls",
                "< 50 ms",
            )
        ]

    async def snapshots(self) -> list[Row]:
        """Failing test runs in the 20k-file repository: each forces a git snapshot (in a worker
        thread). The worst request wait meanwhile, against bare pygls sent the same messages; and
        the time from the run to its proposal less the quiet period, against the same server in a
        folder without git."""
        rounds = 4 if self.quick else 30
        from lsprotocol import types

        from proactive_ls.lsp import protocol

        quiet_ms = 200
        repo = self.repository()
        plain = self.root / "plain"
        (plain / "tests").mkdir(parents=True, exist_ok=True)
        (plain / "tests" / "test_calc.py").write_text((repo / "tests" / "test_calc.py").read_text())
        settings = {
            "quietPeriodMs": quiet_ms,
            "minIntervalS": 0,
            "maxPerHour": 3600,
            "ignoreAfterS": 3600,
            "learning": False,
        }
        waits: dict[str, list[float]] = {}

        async def run(client: Any, pid: int, name: str, folder: Path = repo) -> float:
            arrived: asyncio.Queue[float] = asyncio.Queue()
            client.on_proposal = lambda: arrived.put_nowait(time.perf_counter())
            uri = (folder / "tests" / "test_calc.py").as_uri()
            await _git_ready(client)  # start-up is not what this measures
            probe = _Probe(client, uri)
            await probe.roundtrip()
            task = asyncio.create_task(probe.run())
            latencies: list[float] = []
            for k in range(-1, rounds):  # the first round (k = -1) warms up: not counted
                output = (
                    "=================== short test summary info ===================\n"
                    f"FAILED tests/test_calc.py::test_k{k} - assert {k} == {k + 1}\n"
                    "=================== 1 failed, 99 passed in 0.12s ===================\n"
                )
                sent = time.perf_counter()
                client.protocol.notify(
                    protocol.TERMINAL_COMMAND,
                    {"commandLine": "python -m pytest", "cwd": str(folder), "exitCode": 1, "output": output},
                )
                if name == "bare":
                    await asyncio.sleep(quiet_ms / 1000 + 0.3)
                    if k < 0:
                        probe.latencies.clear()
                    continue
                try:
                    got = await asyncio.wait_for(arrived.get(), 20)
                except TimeoutError:
                    status = await client.workspace_execute_command_async(
                        types.ExecuteCommandParams(command=protocol.COMMAND_STATUS, arguments=[])
                    )
                    raise RuntimeError(f"no proposal for round {k}: {status.get('lastDecision')}") from None
                if k < 0:
                    probe.latencies.clear()
                else:
                    latencies.append((got - sent) * 1000 - quiet_ms)
                await asyncio.sleep(0.3)  # the snapshot forced by this run ends meanwhile
            probe.stop()
            await task
            waits[f"{name} {folder.name}"] = latencies
            return max(probe.latencies) * 1000

        worst = await self.both(run, workspace=repo, settings=settings)
        command, options = self.servers["proactive-ls"]
        async with _server(command, plain, {**(options or {}), **settings}) as (client, pid):
            await run(client, pid, "proactive-ls", plain)
        in_repo, floor = sorted(waits[f"proactive-ls {repo.name}"]), sorted(waits["proactive-ls plain"])
        files = 2_000 if self.quick else 20_000

        def p99(values: list[float]) -> float:
            return values[min(len(values) - 1, int(len(values) * 0.99))]

        return [
            Row(
                f"worst request wait, git snapshots (a failing test run each) in a {files}-file repository",
                "ms",
                worst["proactive-ls"],
                worst["bare"],
                "bare pygls, same messages",
                "< 50 ms",
            ),
            Row(
                f"time to proposal less the quiet period, p50, {files}-file git repository",
                "ms",
                statistics.median(in_repo),
                statistics.median(floor),
                "the same without git",
            ),
            Row(
                f"time to proposal less the quiet period, p99, {files}-file git repository",
                "ms",
                p99(in_repo),
                p99(floor),
                "the same without git",
                "< 20 ms",
            ),
        ]

    # -- in-process figures ----------------------------------------------------------------------

    def parse(self) -> list[Row]:
        from tree_sitter import Parser

        from proactive_ls.sensing.mirror import DocumentMirror
        from proactive_ls.sensing.syntax import SyntaxDocument
        from proactive_ls.sensing.syntax.languages import load_language

        lines = 2_000 if self.quick else 10_000
        rows = []
        for language in _LANGUAGES:
            text = source_text(language, lines)
            mirror = DocumentMirror(text, "utf-16")
            doc = SyntaxDocument(language, mirror)
            scratch, burst = [], []
            for k in range(3 if self.quick else 7):
                data = mirror.text.encode()
                started = time.thread_time()
                Parser(load_language(language)).parse(data)
                scratch.append(time.thread_time() - started)
                line = lines // 2 + k
                doc.edit(mirror.apply_change((line, 0), (line, 0), " "))
                started = time.thread_time()
                doc.reparse()
                doc.syntax_errors()
                burst.append(time.thread_time() - started)
            rows.append(
                Row(
                    f"burst end (parse, definitions, errors), {lines}-line {language}",
                    "CPU ms",
                    statistics.median(burst) * 1000,
                    statistics.median(scratch) * 1000,
                    "parse from scratch",
                )
            )
        return rows

    async def engine(self) -> list[Row]:
        from proactive_ls.config import Settings
        from proactive_ls.engine import Engine
        from proactive_ls.events import render_history
        from proactive_ls.judges.base import AcceptAll
        from proactive_ls.judges.gate import GateJudge
        from proactive_ls.proposers.base import ProposalContext
        from proactive_ls.proposers.local import LocalProposer
        from proactive_ls.sensing.redaction import Redactor

        events = _engine_events(2_000 if self.quick else 20_000, self.root)
        settings = Settings()

        async def rate(engine: Engine) -> float:
            # As the clocks drive it (engine/driver.py): every deadline that comes before the next
            # event is ticked at its own time, then the event is observed.
            started = time.thread_time()
            for e in events:
                while (deadline := engine.next_deadline()) is not None and deadline <= e.time:
                    await engine.tick(deadline)
                engine.observe(e, e.time)
            return len(events) / (time.thread_time() - started)

        full_rates, null_rates = [], []
        judged = 0
        for _ in range(1 if self.quick else 3):  # interleaved, the best of each (the machine is shared)
            redactor = Redactor(roots=[self.root])
            full = Engine(settings, LocalProposer(), GateJudge(), redact=redactor.redact_event)
            null = Engine(settings, LocalProposer(rules=[]), AcceptAll())
            full_rates.append(await rate(full))
            null_rates.append(await rate(null))
            judged = full.counts.proposed + full.counts.filtered
        if not judged:
            raise RuntimeError("the engine scenario never reached the gate: the bench's events are wrong")

        # One gate decision, on the histories the engine saw. The CPU time of a decision is what the
        # code costs; on a shared machine even identical decisions vary 3x in CPU time, so each one
        # is also run 5 times and its least CPU time kept (the code's cost with the machine's
        # interference taken out; the memo is warm then, as for 19 of an event's 20 decisions).
        # The wall time's p99 also counts the machine's other work and the GC.
        judge = GateJudge()
        task = "Open the failure of `test_add` at tests/test_calc.py:9"
        once, least, wall, floor, floor_least = [], [], [], [], []
        for k in range(400 if self.quick else 4_000):
            history = events[: 21 + k % 400]
            ctx = ProposalContext(history=history, new_events=[], now=history[-1].time)
            runs, floor_runs = [], []
            for r in range(5):
                started_wall, started = time.perf_counter(), time.thread_time()
                judge.score(ctx, task)
                runs.append(time.thread_time() - started)
                if r == 0:
                    wall.append(time.perf_counter() - started_wall)
                started = time.thread_time()
                render_history(history[-20:])
                floor_runs.append(time.thread_time() - started)
            once.append(runs[0])
            least.append(min(runs))
            floor.append(floor_runs[0])
            floor_least.append(min(floor_runs))

        def pct(values: list[float], q: float) -> float:
            return sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000

        return [
            Row(
                "engine with redaction and gate",
                "events/s",
                max(full_rates),
                max(null_rates),
                "null engine (no rules, no redaction)",
                ">= 50k",
            ),
            Row("one gate decision, p50 (CPU)", "ms", pct(once, 0.5), pct(floor, 0.5), "rendering its 20 steps"),
            Row(
                "one gate decision, p99 (CPU, least of 5 runs)",
                "ms",
                pct(least, 0.99),
                pct(floor_least, 0.99),
                "rendering its 20 steps",
                "< 0.5 ms",
            ),
            Row(
                "one gate decision, p99 (CPU, one run)",
                "ms",
                pct(once, 0.99),
                pct(floor, 0.99),
                "rendering its 20 steps",
            ),
            Row(
                "one gate decision, p99 (wall)", "ms", pct(wall, 0.99), pct(floor, 0.99), "rendering its 20 steps (CPU)"
            ),
        ]

    async def replay(self) -> list[Row]:
        """Replay of the 12 ProactiveBench test traces and the packaged examples, end to end: each
        file loaded, its session built, run on virtual time and closed, as ``proactive-ls replay``
        does per file. The floor: the same events through a null engine (no session, no sensing)."""
        from proactive_ls.bench.traces import default_data_dir, trace_names
        from proactive_ls.config import Settings
        from proactive_ls.engine import Engine
        from proactive_ls.judges.base import AcceptAll
        from proactive_ls.proposers.local import LocalProposer
        from proactive_ls.replay.demo import example_sessions
        from proactive_ls.replay.engine import ReplayCommand

        data = default_data_dir()
        traces = [data / "test_data" / f"{n}.json" for n in trace_names(data)] if (data / "test_data").is_dir() else []
        examples = Path(__file__).resolve().parents[1] / "examples"
        rounds = 1 if self.quick else 5
        with example_sessions() as sessions:
            files = [*traces, *sessions, examples / "recorded-session" / "recording.jsonl"]
            replayed: list[float] = []
            replayed_cpu: list[float] = []  # this process's threads, not git's processes
            floor: list[float] = []
            count = 0
            for _ in range(rounds):
                started, started_cpu = time.perf_counter(), time.process_time()
                seen: list[list[Any]] = []
                command = ReplayCommand()  # what `proactive-ls replay` does (replay/cli.py)
                for recording in command.load(files):
                    assert not isinstance(recording, Exception), recording
                    replayer = command.replayer(recording)
                    await replayer.run()
                    seen.append(replayer.session.engine.history.events())
                command.close()
                replayed.append(time.perf_counter() - started)
                replayed_cpu.append(time.process_time() - started_cpu)
                count = sum(len(events) for events in seen)
                started = time.perf_counter()
                for events in seen:
                    null = Engine(Settings(), LocalProposer(rules=[]), AcceptAll())
                    for e in events:
                        while (deadline := null.next_deadline()) is not None and deadline <= e.time:
                            await null.tick(deadline)
                        null.observe(e, e.time)
                floor.append(time.perf_counter() - started)
        name = f"replay of {len(traces)} ProactiveBench traces and {len(files) - len(traces)} examples ({count} events)"
        return [
            Row(
                name,
                "events/s",
                count / min(replayed),
                count / min(floor),
                "the same events through a null engine",
                ">= 20k",
            ),
            Row(
                "replay, CPU time of this process (git's processes not counted)",
                "events/s",
                count / min(replayed_cpu),
                count / min(floor),
                "the same events through a null engine (wall)",
            ),
        ]

    def request_shape(self) -> list[Row]:
        from proactive_ls.llm.prompt import Transcript

        events = _events(400 if self.quick else 2_000, self.root)
        transcript = Transcript(budget_tokens=1500)
        previous = ""
        sizes, shared = [], []
        for k in range(0, len(events), 5):
            transcript.sync(events[: k + 5])
            body = json.dumps(transcript.messages())
            if previous:
                sizes.append(len(body))
                shared.append(len(os.path.commonprefix([previous, body])))
            previous = body
            transcript.commit('{"task": null}')
        return [
            Row("model request size over a long session, median", "bytes", statistics.median(sizes), None, ""),
            Row(
                "bytes shared with the previous request, median",
                "share",
                statistics.median(s / n for s, n in zip(shared, sizes, strict=True)),
                None,
                "",
            ),
        ]


async def _git_ready(client: Any) -> None:
    """Wait until proactive-ls has taken the baseline of every repository (bare pygls: at once)."""
    from lsprotocol import types
    from pygls.exceptions import JsonRpcException

    from proactive_ls.lsp import protocol

    for _ in range(600):
        try:
            status = await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=protocol.COMMAND_STATUS, arguments=[])
            )
        except JsonRpcException:
            return  # not proactive-ls
        git = (status or {}).get("git", {})
        if git.get("ready", 0) >= git.get("repositories", 0):
            return
        await asyncio.sleep(0.1)


def _import_cpu_ms(module: str) -> float:
    """CPU time of a fresh interpreter importing `module` (empty: what ``proactive-ls serve`` imports
    before its initialize response; "session": and what it imports when it makes the session, after it)."""
    serve = "import proactive_ls.launch, proactive_ls.lsp.server"
    code = {"": serve, "session": serve + ", proactive_ls.lsp.protocol, proactive_ls.session"}.get(module)
    code = code or f"import {module}"
    times = []
    for _ in range(3):
        before = os.times()
        subprocess.run([sys.executable, "-c", code], check=True)
        after = os.times()
        times.append(
            (after.children_user - before.children_user + after.children_system - before.children_system) * 1000
        )
    return statistics.median(times)


def _events(n: int, root: Path) -> list[Any]:
    from proactive_ls.events import DocumentEdited, DocumentSaved, TerminalCommand

    out: list[Any] = []
    uri = (root / "a.py").as_uri()
    for i in range(n):
        t = 1000.0 + i * 2.0
        if i % 3 == 0:
            out.append(
                DocumentEdited(
                    time=t,
                    uri=uri,
                    path="a.py",
                    lines_changed=2,
                    first_line=i % 90,
                    last_line=i % 90 + 1,
                    definitions=["function `parse_args`"],
                )
            )
        elif i % 3 == 1:
            out.append(DocumentSaved(time=t, uri=uri, path="a.py", errors=0))
        else:
            out.append(
                TerminalCommand(
                    time=t,
                    command_line="pytest -x tests/test_calc.py",
                    exit_code=i % 2,
                    output_tail="FAILED tests/test_calc.py::test_add - assert 2 == 3" if i % 2 else "1 passed",
                )
            )
    return out


def _engine_events(n: int, root: Path) -> list[Any]:
    """Work in bursts, as a user makes it: edit, save, edit, save, run the tests (0.2 s apart), then
    a pause longer than the quiet period, so the proposer is asked once per burst. Every other test
    run fails with a location the local proposer opens (tests/test_calc.py, made here)."""
    from proactive_ls.events import DocumentEdited, DocumentSaved, Failure, SourceLocation, TerminalCommand

    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_calc.py").write_text("def test_add():\n    assert 1 + 1 == 3\n" * 5)
    failure = Failure(
        tool="pytest",
        title="tests/test_calc.py::test_add",
        summary="1 test failed in 'tests/test_calc.py'",
        location=SourceLocation(path="tests/test_calc.py", line=9),
    )
    out: list[Any] = []
    for i in range(n):
        burst, step = divmod(i, 5)
        t = 1000.0 + burst * 6.0 + step * 0.2
        name = "a.py" if step < 2 else "b.py"
        uri = (root / name).as_uri()
        if step in (0, 2):
            out.append(
                DocumentEdited(
                    time=t,
                    uri=uri,
                    path=name,
                    lines_changed=2,
                    first_line=i % 90,
                    last_line=i % 90 + 1,
                    definitions=["function `parse_args`"],
                )
            )
        elif step in (1, 3):
            out.append(DocumentSaved(time=t, uri=uri, path=name, errors=0))
        else:
            failed = burst % 2 == 1
            out.append(
                TerminalCommand(
                    time=t,
                    command_line="pytest -x tests/test_calc.py",
                    cwd=str(root),
                    exit_code=int(failed),
                    failure=failure if failed else None,
                    output_tail="FAILED tests/test_calc.py::test_add - assert 2 == 3" if failed else "1 passed",
                )
            )
    return out


def _git_repository(root: Path, files: int) -> Path:
    """A git repository of `files` small Python files, committed (made once per run)."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for k in range(files):
        path = root / "src" / f"d{k % 100}" / f"m{k}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def f{k}():\n    return {k}\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_calc.py").write_text(
        "".join(f"def test_k{k}():\n    assert {k} == {k}\n" for k in range(100))
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "bench"], check=True, env=env)
    return root


SCENARIOS = ("keystrokes", "startup", "memory", "growth", "blocking", "parse", "engine", "replay", "shape")
#: Parts of a scenario that ``--only`` also takes (the default run has them in "blocking").
PARTS = ("pastes", "replace-all", "burst-ends", "open-in-repository", "snapshots")


async def run_all(quick: bool, only: list[str] | None = None) -> list[Row]:
    """Every scenario, or those named in `only` (one of :data:`SCENARIOS` each), in this order."""
    unknown = sorted(set(only or []) - set(SCENARIOS) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}; the scenarios: {', '.join((*SCENARIOS, *PARTS))}")
    wanted = set(only or SCENARIOS)
    with tempfile.TemporaryDirectory(prefix="proactive-ls-perf-") as tmp:
        bench = Bench(quick=quick, root=Path(tmp))
        steps: dict[str, Callable[[], Awaitable[list[Row]] | list[Row]]] = {
            "keystrokes": bench.keystrokes,
            "startup": bench.startup,
            "memory": bench.many_documents,
            "growth": bench.burst_growth,
            "blocking": bench.blocking,
            "parse": bench.parse,
            "engine": bench.engine,
            "replay": bench.replay,
            "shape": bench.request_shape,
            "pastes": bench.pastes,
            "replace-all": bench.replace_all,
            "burst-ends": bench.burst_ends,
            "open-in-repository": bench.open_in_repository,
            "snapshots": bench.snapshots,
        }
        rows: list[Row] = []
        for name in (*SCENARIOS, *PARTS):
            if name in wanted:
                out = steps[name]()
                rows += out if isinstance(out, list) else await out
        return rows


def main_bench_perf(quick: bool, json_out: Path | None, only: list[str] | None = None) -> int:
    from rich.console import Console
    from rich.table import Table

    try:
        rows = asyncio.run(run_all(quick, only))
    except ValueError as exc:
        print(f"proactive-ls bench perf: {exc}", file=sys.stderr)
        return 2
    table = Table(title="proactive-ls bench perf" + (" (quick: small inputs, not a measurement)" if quick else ""))
    for column in ("figure", "proactive-ls", "floor", "ratio", "target"):
        table.add_column(column, justify="left" if column in ("figure", "target") else "right")
    for row in rows:
        floor = f"{row.floor:,.3g} ({row.floor_name})" if row.floor is not None else ""
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        table.add_row(row.figure, f"{row.value:,.3g} {row.unit}", floor, ratio, row.target)
    Console(width=150).print(table)
    document = {"quick": quick, "rows": [{**asdict(r), "ratio": r.ratio} for r in rows]}
    if json_out is not None:
        json_out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


__all__ = ["SCENARIOS", "Row", "main_bench_perf", "run_all", "source_text"]
