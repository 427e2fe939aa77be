"""`proactive-ls replay`: replay files through the engine (or the server) and print what was proposed."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from proactive_ls.config import SettingsError, read_settings_file
from proactive_ls.replay.engine import ReplayResult, replay_file
from proactive_ls.replay.format import ReplayFormatError
from proactive_ls.sensing.redaction.gitignore import GitignoreCache


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
    gitignore = GitignoreCache()  # one check-ignore process per repository for all the files
    try:
        return _replay_all(files, lsp, speed, json_out, extra, gitignore, console)
    finally:
        gitignore.close()


def _replay_all(
    files: list[Path],
    lsp: bool,
    speed: float,
    json_out: bool,
    extra: dict[str, Any],
    gitignore: GitignoreCache,
    console: Any,
) -> int:
    results: list[ReplayResult] = []
    for path in files:
        try:
            if lsp:
                from proactive_ls.replay.over_lsp import replay_over_lsp

                result = asyncio.run(replay_over_lsp(path, extra))
            else:
                result = asyncio.run(replay_file(path, extra, speed, gitignore))
        except (ReplayFormatError, ValueError, OSError) as exc:
            print(f"proactive-ls replay: {exc}", file=sys.stderr)
            return 2
        results.append(result)
        if not json_out:
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
    if json_out:
        print(json.dumps([{**r.summary(), "steps": r.steps} for r in results], indent=2))
    return 0
