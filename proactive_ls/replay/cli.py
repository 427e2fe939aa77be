"""`proactive-ls replay`: replay files through the engine (or the server) and print what was proposed."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from proactive_ls.config import SettingsError, read_settings_file
from proactive_ls.replay.engine import ReplayCommand, ReplayResult
from proactive_ls.replay.format import Recording, ReplayFormatError


def main_replay(
    files: list[Path], lsp: bool, speed: float, json_out: bool, settings_file: Path | None, judge: str | None
) -> int:
    from rich.console import Console

    console = Console(stderr=False, highlight=False, soft_wrap=True)
    try:
        extra: dict[str, Any] = read_settings_file(settings_file) if settings_file else {}
    except SettingsError as exc:
        print(f"proactive-ls replay: {exc}", file=sys.stderr)
        return 2
    if judge:
        extra["judge"] = judge
    return asyncio.run(_replay_all(files, lsp, speed, json_out, extra, console))


async def _replay_all(
    files: list[Path], lsp: bool, speed: float, json_out: bool, extra: dict[str, Any], console: Any
) -> int:
    """Every file in order, on one event loop; the first that fails ends the command (exit code 2)."""
    command = ReplayCommand(extra, speed)
    results: list[ReplayResult] = []
    try:
        # The engine replay loads every file first (git starts meanwhile); over LSP, each in turn.
        loaded: list[Recording | Exception | None] = [None] * len(files) if lsp else [*command.load(files)]
        for path, recording in zip(files, loaded, strict=True):
            try:
                if isinstance(recording, Exception):
                    raise recording
                if recording is None:
                    from proactive_ls.replay.over_lsp import replay_over_lsp

                    result = await replay_over_lsp(path, extra)
                else:
                    result = await command.replay(recording)
            except (ReplayFormatError, ValueError, OSError) as exc:
                print(f"proactive-ls replay: {exc}", file=sys.stderr)
                return 2
            results.append(result)
            if not json_out:
                _print(console, path, result)
    finally:
        command.close()
    if json_out:
        print(json.dumps([{**r.summary(), "steps": r.steps} for r in results], indent=2))
    return 0


def _print(console: Any, path: Path, result: ReplayResult) -> None:
    console.print(f"[bold]{path}[/bold]")
    for step in result.steps:
        p = step["proposal"]
        console.print(f"  [green]proposal[/green] at +{step['time'] - result.start:.1f}s: {p['task']}")
        console.print(f"    {p['message']}")
    if not result.steps:
        console.print("  (no proposal: proactive-ls stays silent)")
    s = result.summary()
    console.print(
        f"  {s['actions']} actions, {s['events']} events, {s['proposals']} proposals, "
        f"{s['filtered']} filtered, in {s['seconds']:.3f} s"
    )
