#!/usr/bin/env python3
"""Per-keystroke cost over stdio: proactive-ls against a bare pygls server, on the same input, in one run.

Both servers get the same 10,000-line file and the same stream of incremental didChange
notifications (one character typed at a time in the middle of the file), then one request
whose answer can only come after every change was handled. The bare server is pygls with
its default document store and an empty didChange handler: the floor any pygls server pays.
Reported: milliseconds per change for each, and their ratio (lower is better for proactive-ls).

    python scripts/bench_keystrokes.py [--lines 10000] [--changes 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.exceptions import JsonRpcMethodNotFound
from pygls.lsp.client import LanguageClient
from rich.console import Console
from rich.table import Table

from proactive_ls.bench.perf import BARE_SERVER

# The floor: a pygls server that keeps nothing, the same one `proactive-ls bench perf` measures.


def make_text(lines: int) -> str:
    body = []
    for i in range(lines):
        if i % 10 == 0:
            body.append(f"def function_{i}(value: int) -> int:")
        else:
            body.append(f"    value = value + {i}  # line {i} of the benchmark file")
    return "\n".join(body) + "\n"


async def roundtrip(client: LanguageClient, hover: types.HoverParams) -> None:
    """A request answered only after every earlier message was handled (an error answer counts too)."""
    try:
        await client.text_document_hover_async(hover)
    except JsonRpcMethodNotFound:
        pass


async def run_once(command: list[str], text: str, changes: int, root: Path, options: dict | None) -> float:
    client = LanguageClient("bench", "1")
    await client.start_io(*command)
    uri = (root / "bench.py").as_uri()
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")],
            initialization_options=options,
        )
    )
    client.initialized(types.InitializedParams())
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )
    hover = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0)
    )
    await roundtrip(client, hover)  # the open is handled
    middle = text.count("\n") // 2
    started = time.perf_counter()
    for i in range(changes):
        pos = types.Position(line=middle, character=4 + i % 40)
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2 + i),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text="x")
                ],
            )
        )
    await roundtrip(client, hover)
    elapsed = time.perf_counter() - started
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return elapsed


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--changes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    text = make_text(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bare_script = root / "bare_server.py"
        bare_script.write_text(BARE_SERVER)
        (root / "bench.py").write_text(text)
        servers = {
            "bare pygls (floor)": ([sys.executable, str(bare_script)], None),
            "proactive-ls": (
                [sys.executable, "-m", "proactive_ls", "serve"],
                {"feedbackLog": str(root / "feedback.jsonl"), "editQuietMs": 200},
            ),
        }
        results: dict[str, list[float]] = {name: [] for name in servers}
        for _ in range(args.rounds):  # interleaved, so both see the same machine noise
            for name, (command, options) in servers.items():
                results[name].append(await run_once(command, text, args.changes, root, options))

    table = Table(
        title=f"{args.changes} incremental changes to a {args.lines}-line file over stdio (median of {args.rounds})"
    )
    table.add_column("server")
    table.add_column("ms per change", justify="right")
    table.add_column("total s", justify="right")
    table.add_column("ratio to bare pygls", justify="right")
    floor = statistics.median(results["bare pygls (floor)"])
    for name, times in results.items():
        median = statistics.median(times)
        table.add_row(name, f"{1000 * median / args.changes:.3f}", f"{median:.3f}", f"{median / floor:.2f}")
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
