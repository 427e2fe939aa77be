"""``proactive-ls doctor``: is this machine and the configured model endpoint usable, and if not, what to fix.

The local checks come first (:mod:`proactive_ls.health`). For each endpoint, in order
(a failed check skips the ones that depend on it): the API key is set if one is
named; the server answers ``/v1/models``; the model (or LoRA adapter) is listed; the prompt fits the
server's context length; one small schema-constrained request answers valid JSON of the schema
(which shows structured output is on) and how long it takes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from proactive_ls.config import ModelEndpoint, Settings, SettingsError, parse_settings, read_settings_file
from proactive_ls.events import Observation, render_step
from proactive_ls.health import Check, Status, local_checks
from proactive_ls.llm.client import ModelClient, ModelError, RetryPolicy
from proactive_ls.llm.prompt import JUDGE_SYSTEM_PROMPT, STEP_INSTRUCTIONS, SYSTEM_PROMPT, dumps, estimate_tokens
from proactive_ls.llm.schema import (
    AnswerError,
    answer_schema,
    judge_schema,
    parse_answer,
    parse_judgement,
    response_format,
)

Role = Literal["proposer", "judge"]
# vLLM's own command (scripts/serve-vllm.sh, in a clone of proactive-ls, adds the recommended flags).
SERVE_HINT = "vllm serve PATH --served-model-name {name} --port {port} --enable-prefix-caching"
_MARKS = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]", "skip": "[dim]skip[/]"}


@dataclass
class DoctorReport:
    endpoint: ModelEndpoint
    role: Role = "proposer"
    checks: list[Check] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    max_model_len: int | None = None
    latency_s: float | None = None

    @property
    def healthy(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> Check:
        check = Check(name, status, detail, fix)
        self.checks.append(check)
        return check


def _port(url: str) -> str:
    try:
        return str(httpx.URL(url).port or 8000)
    except Exception:
        return "8000"


def _probe_messages(role: Role) -> list[dict[str, str]]:
    step = render_step(
        Observation(
            time=time.time(), text="The user runs 'pytest -q' in the terminal; 1 test fails in 'tests/test_io.py'."
        )
    )
    if role == "judge":
        inst = {
            "Observations (Time Ascending)": [{"time": step["Time"], "event": step["Event"]}],
            "Proposed Task": "Open the failing test at its failing line.",
            "Instruction": "Now give your judgement. You should complete the reasoning process in first person.",
        }
        return [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(inst, indent=4)},
        ]
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": dumps({"Instructions": STEP_INSTRUCTIONS, "Observations": [step]})},
    ]


async def run_doctor(
    endpoint: ModelEndpoint, transport: httpx.AsyncBaseTransport | None = None, *, role: Role = "proposer"
) -> DoctorReport:
    """Check one endpoint; never raises for a server problem (it becomes a failed check)."""
    report = DoctorReport(endpoint=endpoint, role=role)
    name, url = endpoint.name, endpoint.url
    serve = SERVE_HINT.format(name=name, port=_port(url))

    if endpoint.api_key_env:
        if os.environ.get(endpoint.api_key_env):
            report.add("API key", "ok", f"${endpoint.api_key_env} is set")
        else:
            report.add(
                "API key",
                "warn",
                f"${endpoint.api_key_env} is not set: requests carry no key",
                f"export {endpoint.api_key_env}=... in the environment that starts proactive-ls",
            )

    probe = endpoint.model_copy(update={"timeout_s": min(endpoint.timeout_s, 15.0)})
    client = ModelClient(probe, transport=transport, retry=RetryPolicy(max_retries=0))
    try:
        started = time.monotonic()
        try:
            cards = await client.list_models()
        except ModelError as exc:
            fixes = {
                "unreachable": f"start the server ({serve}) or correct model.url",
                "timeout": "the server is starting or overloaded: wait for it, or raise model.timeoutS",
                "invalid": "model.url must be the OpenAI-compatible base URL, ending in /v1",
            }
            fix = fixes.get(exc.kind, "")
            if exc.status == 404:
                fix = "model.url must be the OpenAI-compatible base URL, ending in /v1"
            elif exc.status in (401, 403):
                fix = f"set the server's API key in ${endpoint.api_key_env or 'the variable named by model.apiKeyEnv'}"
            report.add("reachable", "fail", f"{url}: {exc}", fix)
            for skipped in ("model listed", "context length", "structured answer"):
                report.add(skipped, "skip", "the server did not answer")
            return report
        report.add("reachable", "ok", f"{url} answered in {1000 * (time.monotonic() - started):.0f} ms")

        report.models = [str(c.get("id")) for c in cards if c.get("id")]
        card = next((c for c in cards if c.get("id") == name), None)
        if card is None:
            listed = ", ".join(report.models) or "none"
            report.add(
                "model listed",
                "fail",
                f"'{name}' is not served; served: {listed}",
                f"set model.name to one of: {listed}; or serve it (--name {name}, or --lora {name}=ADAPTER_PATH)",
            )
        else:
            report.add(
                "model listed",
                "ok",
                f"'{name}' is served" + (f" (adapter of {card.get('parent')})" if card.get("parent") else ""),
            )
            if isinstance(card.get("max_model_len"), int):
                report.max_model_len = card["max_model_len"]

        system = SYSTEM_PROMPT if role == "proposer" else JUDGE_SYSTEM_PROMPT
        need = estimate_tokens(system) + endpoint.history_token_budget + endpoint.max_tokens + 64
        if card is None:
            report.add("context length", "skip", "the model is not served")
        elif report.max_model_len is None:
            report.add("context length", "skip", "the server does not report max_model_len")
        elif need > report.max_model_len:
            report.add(
                "context length",
                "warn",
                f"a full prompt may need ~{need} tokens; the server allows {report.max_model_len}",
                f"start vLLM with --max-model-len {1 << (need - 1).bit_length()}, "
                "or lower historyTokenBudget/maxTokens",
            )
        else:
            report.add("context length", "ok", f"~{need} of {report.max_model_len} tokens at most")

        if card is None:
            report.add("structured answer", "skip", "the model is not served")
            return report
        schema = judge_schema(endpoint.max_tokens) if role == "judge" else answer_schema(endpoint.max_tokens)
        parse = parse_judgement if role == "judge" else parse_answer
        try:
            result = await client.chat(_probe_messages(role), response_format=response_format("doctor_probe", schema))
        except ModelError as exc:
            fix = (
                "look at the server's log"
                if exc.kind == "http"
                else f"the server is slow: raise model.timeoutS (now {endpoint.timeout_s:g} s)"
            )
            if exc.status == 400:
                fix = (
                    "the server rejected the request: "
                    "is it vLLM ≥ 0.8 with structured output (response_format json_schema)?"
                )
            report.add("structured answer", "fail", str(exc), fix)
            return report
        report.latency_s = result.latency_s
        try:
            parse(result.content)
        except AnswerError as exc:
            cut = result.finish_reason == "length"
            report.add(
                "structured answer",
                "fail",
                f"{exc}{' (cut off at maxTokens)' if cut else ''}",
                f"raise model.maxTokens (now {endpoint.max_tokens})"
                if cut
                else "start vLLM with structured output on (--structured-outputs-config; see models/README.md)",
            )
            return report
        try:
            raw = json.loads(result.content)
            exact = isinstance(raw, dict) and set(raw) == set(schema["properties"])
        except ValueError:
            exact = False
        if not exact:
            report.add(
                "structured answer",
                "warn",
                "the answer parses only with the tolerant parser: structured output seems off",
                "start vLLM with --structured-outputs-config "
                '\'{"backend":"guidance","disable_additional_properties":true}\'',
            )
        else:
            ms = 1000 * result.latency_s
            slow = result.latency_s > endpoint.timeout_s / 2
            report.add(
                "structured answer",
                "warn" if slow else "ok",
                f"valid answer in {ms:.0f} ms ({result.usage.prompt_tokens} prompt, "
                f"{result.usage.completion_tokens} completion tokens)",
                "answers take half the timeout: raise model.timeoutS or use a smaller model" if slow else "",
            )
        return report
    finally:
        await client.aclose()


def print_report(report: DoctorReport, console: object | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = console if console is not None else Console()
    verdict = "[green]healthy[/]" if report.healthy else "[red]unhealthy[/]"
    table = Table(
        title=f"{report.role} model '{report.endpoint.name}' at {report.endpoint.url}: {verdict}", title_justify="left"
    )
    table.add_column("check")
    table.add_column("", no_wrap=True)
    table.add_column("what was found")
    table.add_column("what to do")
    for c in report.checks:
        table.add_row(c.name, _MARKS[c.status], c.detail, c.fix)
    con.print(table)  # type: ignore[attr-defined]


def _load_settings(settings_file: Path | None) -> Settings:
    return parse_settings(read_settings_file(settings_file) if settings_file is not None else {})


def print_local(checks: list[Check], console: object) -> None:
    from rich.table import Table

    healthy = all(c.status != "fail" for c in checks)
    verdict = "[green]healthy[/]" if healthy else "[red]unhealthy[/]"
    table = Table(title=f"this machine: {verdict}", title_justify="left")
    table.add_column("check")
    table.add_column("", no_wrap=True)
    table.add_column("what was found")
    table.add_column("what to do")
    for c in checks:
        table.add_row(c.name, _MARKS[c.status], c.detail, c.fix)
    console.print(table)  # type: ignore[attr-defined]


def main_doctor(settings_file: Path | None, url: str | None, model: str | None) -> int:
    """Check this machine, then the configured endpoints (``model`` and ``judgeModel``, or the one given).

    0 when healthy, 1 when something must be fixed, 2 when the settings cannot be read. The default
    configuration (the embedded proposer) needs no model server: it is healthy when the local
    checks pass.
    """
    from rich.console import Console

    con = Console()
    try:
        settings = _load_settings(settings_file)
    except SettingsError as exc:
        print(f"proactive-ls doctor: {exc}", file=sys.stderr)
        return 2
    targets: list[tuple[Role, ModelEndpoint]] = []
    try:
        if url or model:
            base = settings.model.model_dump() if settings.model else {}
            if url:
                base["url"] = url
            if model:
                base["name"] = model
            if not base.get("name"):
                print("proactive-ls doctor: pass --model NAME, or settings with model.name", file=sys.stderr)
                return 2
            targets.append(("proposer", ModelEndpoint.model_validate(base)))
        else:
            if settings.model:
                targets.append(("proposer", settings.model))
            if settings.judge_model:
                targets.append(("judge", settings.judge_model))
    except ValueError as exc:
        print(f"proactive-ls doctor: invalid endpoint: {exc}", file=sys.stderr)
        return 2

    local = local_checks(settings)
    print_local(local, con)

    async def check_all() -> list[DoctorReport]:
        return [await run_doctor(ep, role=role) for role, ep in targets]

    reports = asyncio.run(check_all()) if targets else []
    for report in reports:
        print_report(report, con)
    healthy = all(c.status != "fail" for c in local) and all(r.healthy for r in reports)
    return 0 if healthy else 1


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m proactive_ls.doctor", description="Check a model endpoint.")
    ap.add_argument("--settings", type=Path, help="JSON file of proactive-ls settings (initializationOptions)")
    ap.add_argument("--url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    ap.add_argument("--model", help="served model or LoRA adapter name")
    args = ap.parse_args(argv)
    return main_doctor(args.settings, args.url, args.model)


if __name__ == "__main__":
    sys.exit(_main())
