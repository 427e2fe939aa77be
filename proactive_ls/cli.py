"""The proactive-ls command: serve, demo, replay, bench, export, train-gate, finetune, doctor, shell-hook.

Each command parses its options and hands over to the module that does the work. Options with a
fixed set of values are enums, so that shell completion (``--install-completion``) offers them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from proactive_ls import __version__

app = typer.Typer(
    name="proactive-ls",
    help="A language server that proposes tasks before it is asked, and knows when to stay silent.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: ProactiveBench, the gate, learning.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
learning_app = typer.Typer(help="What was learned from your answers: show it, reset it.", no_args_is_help=True)
app.add_typer(learning_app, name="learning")


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class ExportFormat(StrEnum):
    reward = "reward"
    preference = "preference"
    sft = "sft"


class ReplayJudge(StrEnum):
    none = "none"
    gate = "gate"
    vllm = "vllm"


class HookShell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


class BenchJudge(StrEnum):
    gate = "gate"
    vllm = "vllm"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"proactive-ls {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """proactive-ls."""


def _setup_logging(level: str, log_file: Path | None) -> None:
    from proactive_ls.serving import setup_logging

    setup_logging(level, log_file)


@app.command()
def serve(
    tcp: Annotated[str | None, typer.Option(help="Listen on HOST:PORT instead of stdio.", metavar="HOST:PORT")] = None,
    log_file: Annotated[Path | None, typer.Option(help="Write logs here instead of stderr.")] = None,
    log_level: Annotated[LogLevel, typer.Option(case_sensitive=False, help="How much to log.")] = LogLevel.warning,
    feedback_log: Annotated[
        Path | None, typer.Option(help="Where outcomes are written (overrides initializationOptions.feedbackLog).")
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(help="Write every client message, timestamped and redacted, to this JSON Lines file."),
    ] = None,
    stdio: Annotated[
        bool, typer.Option("--stdio", hidden=True, help="Accepted for clients that pass it; stdio is the default.")
    ] = False,
    socket_path: Annotated[
        Path | None, typer.Option("--socket", help="Listen on this Unix socket (mode 0600) instead of stdio.")
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="Let --tcp listen on a non-loopback address (anyone who reaches it needs the token).")
    ] = False,
    token_file: Annotated[
        Path | None,
        typer.Option(help="With --tcp: where the connection token is written (0600; default: in the data folder)."),
    ] = None,
) -> None:
    """Speak LSP over stdio (default) or TCP."""
    from proactive_ls.serving import serve as run_server

    listen = None
    if tcp or socket_path:
        # Checked before anything starts, so a bad address is a usage error, not a traceback.
        listen = _listener(tcp, socket_path, allow_remote, token_file)
    run_server(None, log_file, log_level.value, feedback_log, record, listen=listen)


def _listener(
    tcp: str | None, socket_path: Path | None, allow_remote: bool, token_file: Path | None
) -> Callable[[Any], None]:
    """How the server listens: a 0600 Unix socket, or TCP on loopback with a token (usage errors raised here)."""
    from proactive_ls.config import data_dir
    from proactive_ls.lsp import transport

    if socket_path is not None:
        return lambda server: transport.serve(server, socket_path=socket_path)
    assert tcp is not None
    try:
        host, port = transport.parse_address(tcp)
        transport.check_host(host, allow_remote)
    except transport.AddressError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tcp") from None
    path = token_file or data_dir() / "tcp-token"

    def listen(server: Any) -> None:
        token = transport.write_token(path)
        typer.echo(f"proactive-ls: send initializationOptions.token from {path} (mode 0600)", err=True)
        try:
            transport.serve(server, host=host, port=port, token=token)
        except OSError as exc:
            typer.echo(f"proactive-ls: cannot listen on {tcp}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None

    return listen


@app.command()
def replay(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Event files (JSON Lines), --record recordings, or ProactiveBench traces (JSON).",
            exists=True,
            dir_okay=False,
        ),
    ],
    lsp: Annotated[
        bool, typer.Option("--lsp", help="Replay through the real server over stdio instead of the engine directly.")
    ] = False,
    speed: Annotated[float, typer.Option(help="0 = as fast as possible; 1 = recorded speed; 2 = twice as fast.")] = 0.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
    settings: Annotated[Path | None, typer.Option(help="A JSON file of settings (as initializationOptions).")] = None,
    judge: Annotated[ReplayJudge | None, typer.Option(help="The judge (overrides the settings).")] = None,
) -> None:
    """Replay recorded sessions through the engine and print what it proposes."""
    _setup_logging("warning", None)
    from proactive_ls.replay.cli import main_replay

    raise typer.Exit(
        main_replay(
            files, lsp=lsp, speed=speed, json_out=json_out, settings_file=settings, judge=judge.value if judge else None
        )
    )


@app.command()
def demo(
    more: Annotated[
        list[Path] | None,
        typer.Argument(help="More session files to replay after the examples.", exists=True, dir_okay=False),
    ] = None,
    lsp: Annotated[
        bool, typer.Option("--lsp", help="Replay through the real server over stdio instead of the engine directly.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Replay the example coding sessions that ship with proactive-ls on the embedded proposer."""
    _setup_logging("warning", None)
    from proactive_ls.replay.demo import main_demo

    raise typer.Exit(main_demo(list(more or []), lsp=lsp, json_out=json_out))


@app.command()
def export(
    format: Annotated[ExportFormat, typer.Option("--format", help="What to export.")],
    feedback_log: Annotated[Path | None, typer.Option(help="The log to read (default: the default log).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only outcomes at or after this time (ISO 8601 or unix seconds).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only outcomes before this time.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    include_ignored: Annotated[bool, typer.Option(help="Export ignored proposals as weak negatives.")] = False,
) -> None:
    """Export the feedback log as reward-model or fine-tuning data."""
    _setup_logging("warning", None)
    from proactive_ls.feedback.export import main_export

    raise typer.Exit(main_export(format.value, feedback_log, since, until, out, include_ignored))


feedback_app = typer.Typer(help="The feedback log: purge what it keeps.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


class StatsBy(StrEnum):
    kind = "kind"
    proposer = "proposer"
    judge = "judge"
    language = "language"
    week = "week"


@feedback_app.command("purge")
def feedback_purge(
    before: Annotated[
        str | None, typer.Option(help="Remove the records decided before this time (ISO 8601 or unix seconds).")
    ] = None,
    all_records: Annotated[bool, typer.Option("--all", help="Remove every record.")] = False,
    feedback_log: Annotated[Path | None, typer.Option(help="The log (default: the default log).")] = None,
) -> None:
    """Remove old (or all) records from the feedback log and its rotated segments."""
    _setup_logging("warning", None)
    from proactive_ls.feedback.purge import main_purge

    raise typer.Exit(main_purge(feedback_log, before, all_records))


@app.command()
def stats(
    feedback_log: Annotated[
        list[Path] | None, typer.Option(help="A log to read; repeat for several (default: the default log).")
    ] = None,
    by: Annotated[StatsBy, typer.Option(help="How to group.")] = StatsBy.kind,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Acceptance, rejection and ignore rates, time to decision and what the judge filtered."""
    _setup_logging("warning", None)
    from proactive_ls.config import default_feedback_log
    from proactive_ls.feedback.stats import main_stats

    raise typer.Exit(main_stats(list(feedback_log or [default_feedback_log()]), by.value, json_out))


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="The HTML file to write.")],
    feedback_log: Annotated[
        list[Path] | None, typer.Option(help="A log to read; repeat for several (default: the default log).")
    ] = None,
) -> None:
    """One self-contained HTML page: outcomes per kind over time, time to decision, what the judge filtered."""
    _setup_logging("warning", None)
    from proactive_ls.config import default_feedback_log
    from proactive_ls.feedback.report import main_report

    raise typer.Exit(main_report(list(feedback_log or [default_feedback_log()]), out))


@app.command("train-gate")
def train_gate(
    feedback_log: Annotated[Path | None, typer.Option(help="Your feedback log (default: the default log).")] = None,
    data: Annotated[Path | None, typer.Option(help="Also train on the ProactiveBench folder here.")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the gate (default: your data folder).")] = None,
    include_ignored: Annotated[bool, typer.Option(help="Count ignored proposals as weak negatives.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Train on fewer records than the minimum, and install even if not better.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print what was done as JSON.")] = False,
) -> None:
    """Retrain the gate from your own accept/reject feedback; installed only if not worse on your later answers."""
    _setup_logging("warning", None)
    from proactive_ls.judges.gate_retrain import main_train_gate

    raise typer.Exit(main_train_gate(feedback_log, data, out, include_ignored, force, json_out))


@app.command()
def finetune(
    model: Annotated[str, typer.Argument(help="proposer or judge.", metavar="proposer|judge")],
    base: Annotated[Path, typer.Option(help="The base model's folder (Hugging Face format).")],
    out: Annotated[Path, typer.Option(help="Where to write the LoRA adapter and its card.")],
    feedback_log: Annotated[Path | None, typer.Option(help="Your feedback log (default: the default log).")] = None,
    data: Annotated[
        Path | None, typer.Option(help="Train on these rows (JSON lines from `export` or a previous run) instead.")
    ] = None,
    method: Annotated[str, typer.Option(help="sft, or dpo (the proposer, from preference pairs).")] = "sft",
    name: Annotated[
        str | None, typer.Option(help="The adapter's served name (default: the --out folder's name).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (default: --epochs passes).")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the training rows when --steps is not given.")] = 3.0,
    learning_rate: Annotated[float, typer.Option(help="The LoRA learning rate.")] = 2e-4,
    rank: Annotated[int, typer.Option(help="LoRA rank (alpha is twice it); serve with --max-lora-rank >= it.")] = 16,
    batch_size: Annotated[int, typer.Option(help="Rows per step and device.")] = 4,
    lora_targets: Annotated[
        str | None, typer.Option(help="Comma-separated modules to adapt (default: the attention and MLP projections).")
    ] = None,
    held_out: Annotated[float, typer.Option(help="The newest share of rows kept for the check.")] = 0.2,
) -> None:
    """Fine-tune a LoRA adapter of the proposer or the judge on your feedback (needs the train extra)."""
    _setup_logging("warning", None)
    from proactive_ls.training.command import main_finetune

    raise typer.Exit(
        main_finetune(
            model,
            base,
            out,
            feedback_log,
            data,
            method,
            name,
            steps,
            epochs,
            learning_rate,
            rank,
            batch_size,
            held_out,
            lora_targets,
            ["proactive-ls", *sys.argv[1:]],
        )
    )


@app.command()
def doctor(
    settings: Annotated[Path | None, typer.Option(help="A JSON file of settings with a 'model' entry.")] = None,
    url: Annotated[
        str | None, typer.Option(help="The OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="The model or LoRA adapter name.")] = None,
) -> None:
    """Check this machine and the configured model servers, and say what to fix."""
    _setup_logging("warning", None)
    from proactive_ls.doctor import main_doctor

    raise typer.Exit(main_doctor(settings, url, model))


@app.command("shell-hook")
def shell_hook(shell: Annotated[HookShell, typer.Argument(help="The shell whose rc file sources it.")]) -> None:
    """Print an rc snippet that reports each command this shell runs to the servers of its workspace."""
    from proactive_ls.shell_hook.snippets import snippet

    typer.echo(snippet(shell.value, sys.executable), nl=False)


@bench_app.command("gate")
def bench_gate(
    data: Annotated[
        Path | None, typer.Option(help="The ProactiveBench folder (default: ../shared/proactivebench).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Leave-one-trace-out evaluation of the gate against baselines."""
    _setup_logging("warning", None)
    from proactive_ls.bench.gate_eval import main_bench_gate

    raise typer.Exit(main_bench_gate(data, json_out))


@bench_app.command("perf")
def bench_perf(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small inputs: shows the benchmark works, measures nothing.")
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures here as JSON.")] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Run only this scenario (repeatable): keystrokes, startup, memory, growth, blocking, parse, "
            "engine, replay, shape; or a part of blocking: pastes, replace-all, burst-ends, open-in-repository.",
        ),
    ] = None,
) -> None:
    """Every performance figure beside its floor (bare pygls, a null engine, a from-scratch parse), in one run."""
    from proactive_ls.bench.perf import main_bench_perf

    raise typer.Exit(main_bench_perf(quick, json_out, only))


@bench_app.command("proactivebench")
def bench_proactivebench(
    data: Annotated[
        Path | None, typer.Option(help="The ProactiveBench folder (default: ../shared/proactivebench).")
    ] = None,
    proposer: Annotated[
        str, typer.Option(help="local, vllm, or trace:<model> to score recorded proposals from agent_traces/.")
    ] = "local",
    judge: Annotated[BenchJudge, typer.Option(help="The judge that accepts or rejects each step.")] = BenchJudge.gate,
    settings: Annotated[Path | None, typer.Option(help="A JSON settings file (model endpoints).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the per-step results (CSV) and metrics (JSON) with this path prefix.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Remote requests in flight at once.")] = 4,
    json_out: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Reproduce the ProactiveBench protocol on its 12 real traces."""
    _setup_logging("warning", None)
    from proactive_ls.bench.proactivebench import main_bench_proactivebench

    raise typer.Exit(main_bench_proactivebench(data, proposer, judge.value, settings, out, concurrency, json_out))


def _quiet_broken_pipe() -> int:
    """The reader went away (``proactive-ls export | head``): stop quietly, as Unix tools do.

    Python would otherwise print a BrokenPipeError when it flushes stdout at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1  # what click answers when the pipe closes inside a command


@bench_app.command("learning")
def bench_learning(
    data: Annotated[
        Path | None, typer.Option(help="The ProactiveBench folder (default: ../shared/proactivebench).")
    ] = None,
    per_kind: Annotated[int, typer.Option(help="Opportunities of each kind per simulated user.")] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the simulated users' order and noise.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """How fast the per-user model learns: simulated users through the engine, ProactiveBench online."""
    _setup_logging("warning", None)
    from proactive_ls.bench.learning import main_bench_learning

    raise typer.Exit(main_bench_learning(data, json_out, per_kind, seed))


@learning_app.command("show")
def learning_show(
    feedback_log: Annotated[
        Path | None, typer.Option(help="The feedback log learned from (default: the default log).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """What the per-user model learned, kind by kind."""
    _setup_logging("warning", None)
    from proactive_ls.learning.cli import main_show

    raise typer.Exit(main_show(feedback_log, json_out))


@learning_app.command("reset")
def learning_reset(
    feedback_log: Annotated[
        Path | None, typer.Option(help="The feedback log learned from (default: the default log).")
    ] = None,
) -> None:
    """Forget what was learned (the feedback log is kept); every running server starts again."""
    _setup_logging("warning", None)
    from proactive_ls.learning.cli import main_reset

    raise typer.Exit(main_reset(feedback_log))


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # raised outside click's own handling, e.g. by the final flush
        sys.exit(_quiet_broken_pipe())


if __name__ == "__main__":
    main()
