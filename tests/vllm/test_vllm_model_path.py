"""The model path against a real vLLM server on the CPU (tiny random model; see conftest.py).

A random model says nothing sensible; what is tested is the plumbing a real checkpoint relies on:
structured output makes every answer valid, the proposer, judge and executor work through the
real server, prefix caching really saves prompt tokens, and doctor tells healthy from not.
"""

from __future__ import annotations

import itertools
import json
import statistics
import time

import pytest

from proactive_ls.config import ModelEndpoint
from proactive_ls.doctor import run_doctor
from proactive_ls.events import (
    DiagnosticInfo,
    DiagnosticsChanged,
    DocumentEdited,
    DocumentOpened,
    DocumentSaved,
    EventBase,
    Failure,
    GitCommitted,
    SourceLocation,
    TerminalCommand,
    render_history,
)
from proactive_ls.executor import execute_task
from proactive_ls.judges.base import AcceptAll
from proactive_ls.judges.vllm import VllmJudge
from proactive_ls.llm.client import ModelClient, RetryPolicy
from proactive_ls.llm.prompt import STEP_INSTRUCTIONS, SYSTEM_PROMPT, dumps
from proactive_ls.llm.schema import ModelAnswer, answer_schema, judge_schema, parse_judgement, response_format
from proactive_ls.proposals import Anchor, ApplyEdit, ModelTask, Proposal, Range, ShowMarkdown
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.local import LocalProposer
from proactive_ls.proposers.vllm import VllmProposer

from .conftest import ADAPTERS, MEASUREMENTS, MODEL_NAME, VllmServer

T0 = 1_750_000_000.0
# The tiny model emits printable-ASCII tokens only (see make-tiny-model.py), so schema-bounded
# answers close well within this.
MAX_TOKENS = 512


def endpoint(server: VllmServer, **kw: object) -> ModelEndpoint:
    base: dict[str, object] = {
        "url": server.url,
        "name": MODEL_NAME,
        "timeout_s": 60.0,
        "max_tokens": MAX_TOKENS,
        "history_token_budget": 1500,
    }
    base.update(kw)
    return ModelEndpoint.model_validate(base)


def replayed_session() -> list[EventBase]:
    """A developer's half hour: open, edit, test, fail, fix, pass, commit."""
    t = T0
    out: list[EventBase] = [DocumentOpened(time=t, path="src/calc.py", language_id="python", line_count=42)]
    for i in range(6):
        t += 45
        out.append(
            DocumentEdited(
                time=t,
                path="src/calc.py",
                lines_changed=2 + i,
                first_line=10 + i,
                definitions=["function `parse`"] if i % 2 else [],
            )
        )
        t += 5
        out.append(DocumentSaved(time=t, path="src/calc.py", errors=i % 3 == 0))
        if i % 2 == 0:
            t += 20
            out.append(
                TerminalCommand(
                    time=t,
                    command_line="pytest -q",
                    exit_code=1,
                    duration_ms=900,
                    failure=Failure(
                        tool="pytest",
                        title="test_parse_empty",
                        summary="1 test failed in 'tests/test_calc.py'",
                        location=SourceLocation(path="tests/test_calc.py", line=12),
                    ),
                )
            )
        else:
            t += 3
            out.append(
                DiagnosticsChanged(
                    time=t,
                    path="src/calc.py",
                    errors=1,
                    new_errors=1,
                    first_error=DiagnosticInfo(line=14, message='"x" is not defined'),
                )
            )
    t += 60
    out.append(TerminalCommand(time=t, command_line="pytest -q", exit_code=0, duration_ms=700))
    out.append(GitCommitted(time=t + 30, sha="abc1234", summary="Fix parse of empty input", branch="main"))
    return out


def ctx_at(events: list[EventBase], n: int) -> ProposalContext:
    return ProposalContext(history=events[:n], new_events=events[n - 1 : n], now=events[n - 1].time + 1)


async def test_every_answer_is_valid_json_of_the_schema(live_server: VllmServer) -> None:
    """20 requests with growing histories: each answer is exactly an object of the schema, no tolerance needed."""
    events = replayed_session()
    client = ModelClient(endpoint(live_server), retry=RetryPolicy(max_retries=0))
    fmt = response_format("proactive_answer", answer_schema(MAX_TOKENS))
    latencies: list[float] = []
    tasks = 0
    try:
        for i in range(20):
            steps = render_history(events[: 1 + i % len(events)])
            messages = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": dumps({"Instructions": STEP_INSTRUCTIONS, "Observations": steps})},
            ]
            result = await client.chat(messages, response_format=fmt)
            latencies.append(result.latency_s)
            assert result.finish_reason == "stop", result.content[-200:]
            raw = json.loads(result.content)  # strict: no fences, no prose
            assert list(raw) == ["Purpose", "Thoughts", "Proactive Task", "Response"]
            answer = ModelAnswer.model_validate(raw)
            tasks += answer.proactive_task is not None
    finally:
        await client.aclose()
    MEASUREMENTS["schema answers"] = f"20/20 valid, {tasks} with a task"
    MEASUREMENTS["latency per request"] = (
        f"median {1000 * statistics.median(latencies):.0f} ms, max {1000 * max(latencies):.0f} ms "
        f"(up to {MAX_TOKENS} completion tokens)"
    )


async def test_judge_answers_are_valid(live_server: VllmServer) -> None:
    client = ModelClient(endpoint(live_server), retry=RetryPolicy(max_retries=0))
    fmt = response_format("proactive_judgement", judge_schema(MAX_TOKENS))
    try:
        for n in (3, 8, 15):
            obs = [{"time": s["Time"], "event": s["Event"]} for s in render_history(replayed_session()[:n])]
            user = json.dumps(
                {
                    "Observations (Time Ascending)": obs,
                    "Proposed Task": "Open the failing test",
                    "Instruction": "Now give your judgement.",
                },
                indent=4,
            )
            result = await client.chat(
                [{"role": "system", "content": "Judge."}, {"role": "user", "content": user}], response_format=fmt
            )
            raw = json.loads(result.content)
            assert set(raw) == {"thought", "judgement"} and raw["judgement"] in ("accepted", "rejected")
            parse_judgement(result.content)
    finally:
        await client.aclose()


async def test_proposer_and_judge_through_the_real_server(live_server: VllmServer) -> None:
    """Proposer and judge as two LoRA adapters of one base model, as a team would serve them."""
    events = replayed_session()
    notes: list[str] = []
    proposer = VllmProposer(endpoint(live_server, name=ADAPTERS[0]), LocalProposer(rules=[]), notify=notes.append)
    judge = VllmJudge(endpoint(live_server, name=ADAPTERS[1]), AcceptAll(), notify=notes.append)
    spoke = judged = 0
    try:
        for n in range(2, len(events) + 1, 2):
            ctx = ctx_at(events, n)
            suggestion = await proposer.propose(ctx)
            if suggestion is None:
                continue
            spoke += 1
            assert suggestion.model == ADAPTERS[0] and suggestion.operation == ModelTask()
            verdict = await judge.judge(ctx, suggestion)
            assert verdict.judge == "vllm"  # the reward model decided, not the fallback
            judged += 1
    finally:
        await proposer.aclose()
        await judge.aclose()
    assert notes == [], notes
    assert proposer.stats.fallback_answers == 0 and proposer.stats.faults == 0
    assert proposer.stats.model_answers == len(range(2, len(events) + 1, 2))
    assert judge.last_error is None
    MEASUREMENTS["proposer through vLLM"] = f"{proposer.stats.model_answers} answers, {spoke} tasks, {judged} judged"


@pytest.mark.parametrize(("budget", "least_share"), [(1500, 0.6), (300, 0.25)], ids=["roomy", "tight-budget"])
async def test_prefix_caching_saves_prompt_tokens_over_a_replayed_session(
    live_server: VllmServer, budget: int, least_share: float
) -> None:
    """Every request reuses cached blocks; with a tight history budget the history is cut in
    blocks, and requests between cuts still share their prefix."""
    events = replayed_session()
    proposer = VllmProposer(endpoint(live_server, history_token_budget=budget), LocalProposer(rules=[]))
    hits: list[float] = [live_server.metric("vllm:prefix_cache_hits_total")]
    queries0 = live_server.metric("vllm:prefix_cache_queries_total")
    try:
        for n in range(1, len(events) + 1):
            await proposer.propose(ctx_at(events, n))
            hits.append(live_server.metric("vllm:prefix_cache_hits_total"))
    finally:
        await proposer.aclose()
    queries = live_server.metric("vllm:prefix_cache_queries_total") - queries0
    gains = [b - a for a, b in itertools.pairwise(hits[1:])]
    assert all(g > 0 for g in gains), gains  # every request after the first reuses cached blocks
    c = proposer.counters
    assert c.requests == len(events) and c.cached_tokens > 0
    share = c.cached_tokens / c.prompt_tokens
    assert share > least_share, f"only {share:.0%} of prompt tokens came from the cache"
    if budget < 1000:
        assert proposer.transcript.drops >= 1  # the tight budget really cut the history
    MEASUREMENTS[f"prefix cache, history budget {budget}"] = (
        f"{c.cached_tokens}/{c.prompt_tokens} prompt tokens from the cache ({share:.0%}) over {c.requests} requests; "
        f"server metrics: {hits[-1] - hits[0]:.0f} hits of {queries:.0f} queried tokens; "
        f"history cut {proposer.transcript.drops} time(s)"
    )


async def test_executor_through_the_real_server(live_server: VllmServer) -> None:
    doc = "def parse(text):\n    return int(text)\n"
    uri = "file:///ws/src/calc.py"
    proposal = Proposal(
        id="p1",
        task="Handle empty input in parse",
        message="parse('') raises; shall I fix it?",
        anchor=Anchor(uri=uri, range=Range.line(1)),
        operation=ModelTask(),
        key="k",
        proposer="vllm",
        model=MODEL_NAME,
        created_at=T0,
        observations=render_history(replayed_session()[:6]),
    )
    started = time.monotonic()
    out = await execute_task(
        endpoint(live_server),
        proposal,
        lambda u: doc if u == uri else None,
        workspace_roots=["file:///ws"],
        max_tokens=MAX_TOKENS,
    )
    assert isinstance(out, (ShowMarkdown, ApplyEdit))
    if isinstance(out, ApplyEdit):
        assert set(out.edit["changes"]) == {uri}
    MEASUREMENTS["executor"] = f"{type(out).__name__} in {time.monotonic() - started:.2f} s"


async def test_doctor_reports_the_server_healthy(live_server: VllmServer) -> None:
    report = await run_doctor(endpoint(live_server))
    assert report.healthy, [(c.name, c.status, c.detail) for c in report.checks]
    assert report.models == [MODEL_NAME, *ADAPTERS] and report.max_model_len == 4096
    assert {c.name: c.status for c in report.checks}["structured answer"] == "ok"
    judge = await run_doctor(endpoint(live_server, name=ADAPTERS[1]), role="judge")
    assert judge.healthy and f"adapter of {MODEL_NAME}" in judge.checks[1].detail
    MEASUREMENTS["memory while serving"] = f"{live_server.rss_mb():.0f} MB (RSS of the process tree)"


async def test_zz_doctor_reports_unhealthy_once_the_server_stops(vllm_server: VllmServer) -> None:
    """Runs last in this file: it stops the shared server (a later test would start it again)."""
    vllm_server.ensure_running()
    url = vllm_server.url
    vllm_server.stop()
    report = await run_doctor(endpoint(vllm_server))
    assert not report.healthy
    reachable = report.checks[0]
    assert reachable.name == "reachable" and reachable.status == "fail" and url in reachable.detail
