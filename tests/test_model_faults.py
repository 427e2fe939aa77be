"""The model path against a fault-injecting server: every fault ends in the embedded proposer's
answer or in silence, the circuit opens and closes, the user is told once, and what is sent is
what the protocol says (schema via response_format, additionalProperties false, redacted history)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from proactive_ls.config import ModelEndpoint
from proactive_ls.doctor import run_doctor
from proactive_ls.events import DocumentEdited, DocumentSaved, EventBase, TerminalCommand, render_history
from proactive_ls.executor import build_edit, execute_task, parse_exec_answer
from proactive_ls.judges.base import AcceptAll
from proactive_ls.judges.vllm import VllmJudge
from proactive_ls.llm.client import CircuitBreaker, CircuitState, ModelClient, ModelError, RetryPolicy
from proactive_ls.llm.prompt import SYSTEM_PROMPT, JudgeWindow, Transcript, estimate_tokens
from proactive_ls.llm.schema import AnswerError, answer_schema, parse_answer, parse_judgement
from proactive_ls.proposals import Anchor, ApplyEdit, ModelTask, OpenLocation, Proposal, Range, ShowMarkdown, Suggestion
from proactive_ls.proposers.base import ProposalContext
from proactive_ls.proposers.local import LocalProposer
from proactive_ls.proposers.vllm import VllmProposer

from .fault_server import VALID_ANSWER, FaultServer, closed_port

T0 = 1_750_000_000.0
FAST = RetryPolicy(max_retries=2, base_s=0.001, cap_s=0.002)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def failing_test_rule(ctx: ProposalContext) -> Suggestion | None:
    """A real rule for the embedded proposer: a failed test run is worth a proposal."""
    last = ctx.history[-1] if ctx.history else None
    if isinstance(last, TerminalCommand) and last.exit_code not in (None, 0):
        return Suggestion(
            task="Open the output of the failed test run",
            message=f"'{last.command_line}' failed. Open its output?",
            operation=OpenLocation(uri="file:///ws/tests/test_io.py", range=Range.line(11)),
        )
    return None


def embedded() -> LocalProposer:
    return LocalProposer(rules=[failing_test_rule])


def session(n: int = 3, failing: bool = True) -> list[EventBase]:
    events: list[EventBase] = []
    for i in range(n):
        events.append(DocumentEdited(time=T0 + 60 * i, path="src/calc.py", lines_changed=i + 1, first_line=3 * i))
    events.append(TerminalCommand(time=T0 + 60 * n, command_line="pytest -q", exit_code=1 if failing else 0))
    return events


def ctx_of(events: list[EventBase]) -> ProposalContext:
    return ProposalContext(history=list(events), new_events=events[-1:], now=events[-1].time + 1)


def endpoint(url: str, **kw: object) -> ModelEndpoint:
    base: dict[str, object] = {"url": url, "name": "proactive-test", "timeout_s": 2.0, "max_tokens": 512}
    base.update(kw)
    return ModelEndpoint.model_validate(base)


@pytest.fixture
def server():
    srv = FaultServer().start()
    yield srv
    srv.stop()


def proposer_for(url: str, notes: list[str] | None = None, clock: Clock | None = None, **kw: object) -> VllmProposer:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_s=30.0, clock=clock or Clock())
    return VllmProposer(
        endpoint(url, **kw),
        embedded(),
        notify=(notes.append if notes is not None else None),
        retry=FAST,
        breaker=breaker,
    )


# -- what is sent ------------------------------------------------------------------------------------


async def test_request_carries_schema_in_response_format_with_no_extra_properties(server: FaultServer) -> None:
    p = proposer_for(server.url)
    await p.propose(ctx_of(session()))
    await p.aclose()
    body = server.requests[0]
    assert "guided_json" not in body and "guided_decoding_backend" not in body
    rf = body["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["strict"] is True
    schema = rf["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["Purpose", "Thoughts", "Proactive Task", "Response"]
    assert schema["properties"]["Proactive Task"]["anyOf"][1] == {"type": "null"}
    assert body["model"] == "proactive-test" and body["max_tokens"] == 512 and body["temperature"] == 0.0
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_PROMPT}


async def test_valid_answer_becomes_a_model_task_suggestion(server: FaultServer) -> None:
    p = proposer_for(server.url)
    s = await p.propose(ctx_of(session()))
    await p.aclose()
    assert s is not None
    assert s.task == VALID_ANSWER["Proactive Task"]
    assert s.message == VALID_ANSWER["Response"]
    assert s.purpose == VALID_ANSWER["Purpose"] and s.thoughts == VALID_ANSWER["Thoughts"]
    assert s.operation == ModelTask() and s.model == "proactive-test"
    assert p.last_usage is not None and p.last_usage.prompt_tokens > 0
    assert p.stats.model_answers == 1 and p.stats.fallback_answers == 0


async def test_null_task_is_silence_not_the_fallback(server: FaultServer) -> None:
    server.default_mode = "null_task"
    p = proposer_for(server.url)
    assert await p.propose(ctx_of(session(failing=True))) is None  # the embedded proposer would have spoken
    await p.aclose()
    assert p.stats.fallback_answers == 0 and p.stats.model_answers == 1


async def test_code_fenced_answer_is_understood(server: FaultServer) -> None:
    server.default_mode = "fenced"
    p = proposer_for(server.url)
    s = await p.propose(ctx_of(session()))
    await p.aclose()
    assert s is not None and s.model == "proactive-test" and s.task == VALID_ANSWER["Proactive Task"]


async def test_api_key_comes_from_the_named_variable(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROACTIVE_TEST_KEY", "sk-local-123")
    p = proposer_for(server.url, api_key_env="PROACTIVE_TEST_KEY")
    await p.propose(ctx_of(session()))
    await p.aclose()
    assert server.headers[0]["authorization"] == "Bearer sk-local-123"


# -- faults ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "requests"),
    [
        ("429", 3),  # retried: 1 + 2 retries
        ("500", 3),
        ("502", 3),
        ("503", 3),
        ("400", 1),  # our mistake: not retried
        ("truncated", 1),  # an answer that does not parse is not retried (temperature 0 repeats it)
        ("broken_body", 1),
        ("wrong_schema", 1),
        ("empty", 1),
    ],
)
async def test_each_fault_ends_in_the_embedded_proposers_answer(server: FaultServer, mode: str, requests: int) -> None:
    server.default_mode = mode
    p = proposer_for(server.url)
    s = await p.propose(ctx_of(session(failing=True)))
    await p.aclose()
    assert s is not None and s.task == "Open the output of the failed test run" and s.model is None
    assert server.chat_count() == requests
    assert p.stats.fallback_answers == 1 and p.last_error is not None


@pytest.mark.parametrize("mode", ["500", "truncated", "empty"])
async def test_a_fault_with_nothing_to_say_is_silence(server: FaultServer, mode: str) -> None:
    server.default_mode = mode
    p = proposer_for(server.url)
    assert await p.propose(ctx_of(session(failing=False))) is None
    await p.aclose()


async def test_refused_connection_falls_back_and_tells_the_user_once() -> None:
    notes: list[str] = []
    url = f"http://127.0.0.1:{closed_port()}/v1"
    p = proposer_for(url, notes)
    for n in range(2, 7):
        s = await p.propose(ctx_of(session(n)))
        assert s is not None and s.task == "Open the output of the failed test run"
    await p.aclose()
    assert len(notes) == 1
    assert notes[0].startswith(f"The model server at {url} is unreachable (")
    assert notes[0].endswith("; using the embedded proposer until it answers again.")


async def test_timeout_falls_back(server: FaultServer) -> None:
    server.default_mode = "hang"
    server.hang_s = 3.0
    notes: list[str] = []
    p = proposer_for(server.url, notes, timeout_s=0.2, max_retries=0)
    p.client.retry = RetryPolicy(max_retries=0)
    s = await p.propose(ctx_of(session()))
    await p.aclose()
    assert s is not None and s.model is None
    assert p.last_error is not None and p.last_error.kind == "timeout"
    assert len(notes) == 1 and "is unreachable (no answer within 0.2 s" in notes[0]


async def test_circuit_opens_then_half_opens_and_closes(server: FaultServer) -> None:
    clock = Clock()
    notes: list[str] = []
    server.default_mode = "500"
    p = proposer_for(server.url, notes, clock)
    p.client.retry = RetryPolicy(max_retries=0)
    for n in range(1, 4):
        await p.propose(ctx_of(session(n)))
    assert p.client.breaker.state is CircuitState.OPEN and server.chat_count() == 3
    # Open: no request reaches the server, the embedded proposer answers at once.
    s = await p.propose(ctx_of(session(4)))
    assert s is not None and s.model is None and server.chat_count() == 3
    # After the cool-down one trial goes through; the server has recovered: closed again.
    server.default_mode = "valid"
    clock.t += 31
    s = await p.propose(ctx_of(session(5)))
    assert s is not None and s.model == "proactive-test"
    assert p.client.breaker.state is CircuitState.CLOSED and server.chat_count() == 4
    await p.aclose()
    assert len(notes) == 2
    assert "is failing (HTTP 500" in notes[0]
    assert notes[1] == f"The model server at {server.url} answers again; proposals come from proactive-test again."


async def test_failed_trial_reopens_the_circuit(server: FaultServer) -> None:
    clock = Clock()
    server.default_mode = "503"
    p = proposer_for(server.url, clock=clock)
    p.client.retry = RetryPolicy(max_retries=0)
    for n in range(1, 4):
        await p.propose(ctx_of(session(n)))
    clock.t += 31
    await p.propose(ctx_of(session(4)))
    assert p.client.breaker.state is CircuitState.OPEN and server.chat_count() == 4
    await p.aclose()


async def test_server_coming_back_on_the_same_port_is_noticed(server: FaultServer) -> None:
    clock = Clock()
    notes: list[str] = []
    p = proposer_for(server.url, notes, clock)
    port = server.port
    server.stop()
    for n in range(1, 6):
        await p.propose(ctx_of(session(n)))
    assert len(notes) == 1 and "is unreachable" in notes[0]
    server.start(port)
    clock.t += 31
    s = await p.propose(ctx_of(session(6)))
    await p.aclose()
    assert s is not None and s.model == "proactive-test"
    assert len(notes) == 2 and "answers again" in notes[1]


async def test_one_bad_answer_is_not_an_outage_but_repeated_ones_are(server: FaultServer) -> None:
    notes: list[str] = []
    p = proposer_for(server.url, notes)
    server.push("wrong_schema")
    await p.propose(ctx_of(session(1)))
    assert notes == []
    await p.propose(ctx_of(session(2)))  # valid again
    server.push("truncated", "empty", "wrong_schema")
    for n in range(3, 6):
        await p.propose(ctx_of(session(n)))
    await p.aclose()
    assert p.client.breaker.state is CircuitState.OPEN
    assert len(notes) == 1 and "gives answers that cannot be used" in notes[0]


async def test_retry_after_is_honoured_and_a_long_one_is_not_waited_for() -> None:
    waits: list[float] = []
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"message": "busy"}})
        if calls == 2:
            return httpx.Response(503, headers={"Retry-After": "3600"}, json={"error": {"message": "down"}})
        raise AssertionError("not retried after a long Retry-After")

    async def sleep(s: float) -> None:
        waits.append(s)

    client = ModelClient(endpoint("http://model.invalid/v1"), transport=httpx.MockTransport(handler), sleep=sleep)
    with pytest.raises(ModelError) as err:
        await client.chat([{"role": "user", "content": "hi"}])
    await client.aclose()
    assert waits == [2.0] and calls == 2 and err.value.status == 503


async def test_backoff_grows_exponentially_with_jitter() -> None:
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)

    transport = httpx.MockTransport(lambda r: httpx.Response(500, json={"error": {"message": "x"}}))
    client = ModelClient(
        endpoint("http://model.invalid/v1"),
        transport=transport,
        sleep=sleep,
        retry=RetryPolicy(max_retries=4, base_s=1.0, cap_s=4.0),
    )
    with pytest.raises(ModelError):
        await client.chat([{"role": "user", "content": "hi"}])
    await client.aclose()
    assert len(waits) == 4
    assert all(0 <= w <= cap for w, cap in zip(waits, [1.0, 2.0, 4.0, 4.0], strict=True))
    assert len(set(waits)) > 1  # jitter


# -- one request in flight, stale requests cancelled -------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport and records how many requests were in flight at once."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.current = 0
        self.peak = 0
        self.cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.current += 1
        self.peak = max(self.peak, self.current)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.current -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_newer_events_cancel_the_request_in_flight(server: FaultServer) -> None:
    server.hang_s = 1.5
    server.push("hang")
    transport = CountingTransport()
    p = VllmProposer(endpoint(server.url, timeout_s=5.0), embedded(), transport=transport, retry=FAST)
    events = session(2)
    first = asyncio.create_task(p.propose(ctx_of(events)))
    while server.chat_count() < 1:
        await asyncio.sleep(0.01)
    newer = events + [DocumentSaved(time=events[-1].time + 5, path="src/calc.py")]
    second = await p.propose(ctx_of(newer))
    assert await first is None  # stale: superseded, silent
    assert second is not None and second.model == "proactive-test"
    assert transport.peak == 1 and transport.cancelled == 1
    assert p.stats.superseded == 1
    # The answered request carried the newer event.
    assert "The user saves 'src/calc.py'." in server.requests[-1]["messages"][-1]["content"]
    await p.aclose()


async def test_same_events_share_the_request_in_flight(server: FaultServer) -> None:
    server.hang_s = 0.5
    server.push("hang")
    p = proposer_for(server.url)
    ctx = ctx_of(session())
    a, b = await asyncio.gather(p.propose(ctx), p.propose(ctx))
    await p.aclose()
    assert a == b and a is not None and server.chat_count() == 1


async def test_nothing_new_since_the_last_answer_asks_nothing(server: FaultServer) -> None:
    p = proposer_for(server.url)
    ctx = ctx_of(session())
    await p.propose(ctx)
    assert await p.propose(ctx) is None
    await p.aclose()
    assert server.chat_count() == 1


# -- redaction ---------------------------------------------------------------------------------------


async def test_a_redacted_secret_never_reaches_the_request_body(server: FaultServer) -> None:
    """The engine redacts events before proposers see them; what the proposer sends is exactly that."""
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    typed = TerminalCommand(
        time=T0 + 500,
        command_line=f'curl -H "Authorization: token {secret}" https://api.github.com/user',
        exit_code=0,
        output_tail=f"token={secret}\n",
    )
    try:
        from proactive_ls.sensing.redaction import Redactor
    except ImportError:  # the redactor is written in parallel; without it, stand in for the engine
        redacted: EventBase | None = typed.model_copy(
            update={
                "command_line": typed.command_line.replace(secret, "[REDACTED]"),
                "output_tail": "token=[REDACTED]\n",
            }
        )
    else:
        redacted = Redactor().redact_event(typed)
    assert redacted is not None and secret not in redacted.model_dump_json()
    events: list[EventBase] = [*session(2), redacted]
    p = proposer_for(server.url)
    await p.propose(ctx_of(events))
    await p.aclose()
    assert secret.encode() not in b"".join(server.raw_bodies)
    # What is sent is exactly the rendered (already redacted) history, step by step.
    sent = json.loads(server.requests[0]["messages"][-1]["content"])["Observations"]
    assert sent == render_history(events)
    assert "[REDACTED" in sent[-1]["Event"]


# -- the tolerant parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '```json\n{"Purpose": "p", "Thoughts": "t", "Proactive Task": "Run the tests", "Response": "r"}\n```',
        'Here you go: {"Purpose": "p", "Thoughts": "t", "Proactive Task": "Run the tests", "Response": "r"} '
        "Hope it helps!}",
        '{"Purpose": "p", "Thoughts": "t", "Proactive Task": "Run the tests", "Response": "r"}\n\n{"another": 1}',
        '{"purpose": "p", "thoughts": "t", "proactive_task": "Run the tests", "response": "r"}',
        '```\n{"Purpose": "p", "Thoughts": "{not json}", "Proactive Task": ["Run the tests", "x"], '
        '"Response": "r"}\n```',
    ],
)
def test_tolerant_parser_finds_the_answer(text: str) -> None:
    a = parse_answer(text)
    assert a.proactive_task == "Run the tests" and a.purpose == "p"


@pytest.mark.parametrize("task", ["null", "None", "", "  ", "`null`", "NULL", "none.", None, []])
def test_no_task_strings_are_silence(task: object) -> None:
    a = parse_answer(json.dumps({"Purpose": "p", "Thoughts": "t", "Proactive Task": task, "Response": "null"}))
    assert a.proactive_task is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ('{"Purpose": "p", "Thoughts": "t", "Proactive Ta', "invalid or truncated"),
        ('{"answer": "hello"}', "lacks 'Proactive Task'"),
        ("I would suggest running the tests.", "no JSON object"),
        ('{"Purpose": "p", "Proactive Task": 42}', "does not match the schema"),
    ],
)
def test_parser_says_why_an_answer_is_unusable(text: str, why: str) -> None:
    with pytest.raises(AnswerError, match=why):
        parse_answer(text)


def test_judgement_parser_accepts_both_spellings() -> None:
    assert parse_judgement('{"thought": "useful", "judgement": "accepted"}').accepted
    assert not parse_judgement('```json\n{"thought": "no", "judgment": "Rejected"}\n```').accepted
    with pytest.raises(AnswerError):
        parse_judgement('{"thought": "hmm", "judgement": "maybe"}')


def test_schema_bounds_strings_to_fit_max_tokens() -> None:
    big, small = answer_schema(4096), answer_schema(256)
    assert big["properties"]["Thoughts"]["maxLength"] == 800
    assert small["properties"]["Thoughts"]["maxLength"] < 800
    assert small["properties"]["Proactive Task"]["anyOf"][0]["maxLength"] >= 160


# -- prompts for prefix caching ----------------------------------------------------------------------


def _flat(messages: list[dict[str, str]]) -> str:
    return "".join(f"<{m['role']}>{m['content']}" for m in messages)


def test_consecutive_requests_share_everything_but_the_last_message() -> None:
    t = Transcript(budget_tokens=100_000)
    history: list[EventBase] = []
    previous: list[dict[str, str]] | None = None
    for i in range(25):
        history.append(DocumentEdited(time=T0 + 10 * i, path=f"src/m{i % 3}.py", lines_changed=i))
        if i % 2:
            continue  # two events arrive between some requests
        t.sync(history[-50:])  # the engine's history may be a sliding window
        messages = t.messages()
        if previous is not None:
            assert _flat(messages).startswith(_flat(previous[:-1]))
        t.commit(json.dumps({**VALID_ANSWER, "Proactive Task": None}))
        previous = messages
    assert t.drops == 0 and len(t.turns) == 13


def test_history_budget_drops_old_turns_in_blocks() -> None:
    budget = 600
    t = Transcript(budget_tokens=budget)
    history: list[EventBase] = []
    prefix_changes = 0
    previous: list[dict[str, str]] | None = None
    for i in range(120):
        history.append(TerminalCommand(time=T0 + 10 * i, command_line=f"pytest -q tests/test_{i}.py", exit_code=i % 2))
        t.sync(history[-60:])
        messages = t.messages()
        history_tokens = sum(estimate_tokens(m["content"]) for m in messages[1:])
        assert history_tokens <= budget + 200  # the budget, plus the note and the instructions
        if previous is not None and not _flat(messages).startswith(_flat(previous[:-1])):
            prefix_changes += 1
        t.commit('{"Purpose":"","Thoughts":"","Proactive Task":null,"Response":""}')
        previous = messages
    assert t.drops == prefix_changes
    assert 2 <= t.drops <= 120 // 5  # cut in blocks, not at every step
    first_user = json.loads(t.messages()[1]["content"])
    assert first_user["Earlier"].endswith("are not shown.")
    assert len(t.log.steps) < 60  # forgotten steps free their memory


def test_steps_are_rendered_once_with_absolute_times() -> None:
    t = Transcript(budget_tokens=10_000)
    ev = DocumentSaved(time=T0, path="a.py")
    t.sync([ev])
    first = t.messages()[-1]["content"]
    t.sync([ev])
    assert t.messages()[-1]["content"] == first
    assert json.loads(first)["Observations"][0]["Time"].startswith("2025-")


def test_judge_window_keeps_the_prefix_between_calls() -> None:
    w = JudgeWindow(budget_tokens=100_000)
    history = session(3)
    a = w.messages(history, "Open the failing test")[1]["content"]
    history.append(DocumentSaved(time=T0 + 999, path="src/calc.py"))
    b = w.messages(history, "Open the failing test")[1]["content"]
    shared = a[: a.index("]")]  # the observations so far, up to where the list closes
    assert b.startswith(shared.rstrip().rstrip("}").rstrip())
    assert '"Proposed Task": "Open the failing test"' in b


# -- the judge ---------------------------------------------------------------------------------------


def _suggestion() -> Suggestion:
    return Suggestion(task="Open the failing test", message="Open it?", operation=ModelTask())


async def test_judge_accepts_and_rejects(server: FaultServer) -> None:
    j = VllmJudge(endpoint(server.url), AcceptAll(), retry=FAST)
    v = await j.judge(ctx_of(session()), _suggestion())
    assert v.accept and v.judge == "vllm" and "opening it helps" in v.reason
    server.answers["proactive_judgement"] = {"thought": "I am busy; this interrupts me.", "judgement": "rejected"}
    v = await j.judge(ctx_of(session(4)), _suggestion())
    await j.aclose()
    assert not v.accept and v.reason == "I am busy; this interrupts me."
    body = server.requests[-1]
    assert body["response_format"]["json_schema"]["schema"]["properties"]["judgement"]["enum"] == [
        "accepted",
        "rejected",
    ]
    user = json.loads(body["messages"][1]["content"])
    assert user["Proposed Task"] == "Open the failing test"
    assert (
        user["Observations (Time Ascending)"][-1]["event"]
        == "The user ran 'pytest -q' in the terminal; it failed with exit code 1."
    )


class RejectAll:
    name = "gate"

    async def judge(self, ctx: ProposalContext, suggestion: Suggestion):
        from proactive_ls.proposals import Verdict

        return Verdict(accept=False, score=0.1, reason="below the bar", judge=self.name)

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize("mode", ["500", "wrong_schema", "hang"])
async def test_judge_fails_open_to_its_fallback_judge(server: FaultServer, mode: str) -> None:
    server.default_mode = mode
    server.hang_s = 1.0
    notes: list[str] = []
    j = VllmJudge(
        endpoint(server.url, timeout_s=0.2), RejectAll(), notify=notes.append, retry=RetryPolicy(max_retries=0)
    )
    v = await j.judge(ctx_of(session()), _suggestion())
    await j.aclose()
    assert v.judge == "gate" and not v.accept and v.score == 0.1
    assert v.reason.startswith("below the bar; reward model unavailable (")
    assert len(notes) == (0 if mode == "wrong_schema" else 1)


# -- the executor ------------------------------------------------------------------------------------

DOC = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
URI = "file:///ws/src/calc.py"


def apply_text_edits(text: str, edits: list[dict]) -> str:
    """Apply LSP TextEdits (UTF-16 = str indices for ASCII here), last first."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def off(pos: dict) -> int:
        return offsets[pos["line"]] + pos["character"]

    for e in sorted(edits, key=lambda e: off(e["range"]["start"]), reverse=True):
        s, t = off(e["range"]["start"]), off(e["range"]["end"])
        text = text[:s] + e["newText"] + text[t:]
    return text


def _proposal(anchor: bool = True) -> Proposal:
    return Proposal(
        id="p1",
        task="Fix add so that it adds",
        message="add subtracts; shall I fix it?",
        anchor=Anchor(uri=URI, range=Range.line(1)) if anchor else None,
        operation=ModelTask(),
        key="fix add",
        proposer="vllm",
        model="proactive-test",
        created_at=T0,
        observations=render_history(session(2)),
    )


async def test_executor_markdown(server: FaultServer) -> None:
    out = await execute_task(endpoint(server.url), _proposal(), lambda uri: DOC if uri == URI else None)
    assert isinstance(out, ShowMarkdown) and out.title == "Why test_parse_empty fails"
    body = server.requests[0]
    assert body["response_format"]["json_schema"]["name"] == "proactive_execution"
    assert "    2|     return a - b" in json.loads(body["messages"][1]["content"])["Documents"]["/ws/src/calc.py"]


async def test_executor_edit_of_a_document_in_the_history(server: FaultServer) -> None:
    server.answers["proactive_execution"] = {
        "kind": "edit",
        "label": "Fix add",
        "explanation": "add must add",
        "edits": [{"document": "src/calc.py", "startLine": 2, "endLine": 2, "newText": "    return a + b"}],
    }
    out = await execute_task(
        endpoint(server.url), _proposal(), lambda uri: DOC if uri == URI else None, workspace_roots=["file:///ws"]
    )
    assert isinstance(out, ApplyEdit) and out.label == "Fix add"
    assert apply_text_edits(DOC, out.edit["changes"][URI]) == DOC.replace("a - b", "a + b", 1)


async def test_executor_finds_documents_quoted_in_the_history_without_an_anchor(server: FaultServer) -> None:
    server.answers["proactive_execution"] = {
        "kind": "edit",
        "label": "Append",
        "explanation": "",
        "edits": [
            {
                "document": "src/calc.py",
                "startLine": 7,
                "endLine": 6,
                "newText": "\n\ndef mul(a, b):\n    return a * b\n",
            }
        ],
    }
    out = await execute_task(
        endpoint(server.url),
        _proposal(anchor=False),
        lambda uri: DOC if uri == URI else None,
        workspace_roots=["file:///ws"],
    )
    assert isinstance(out, ApplyEdit)
    assert apply_text_edits(DOC, out.edit["changes"][URI]).endswith("def mul(a, b):\n    return a * b\n")


@pytest.mark.parametrize(
    ("edits", "reason"),
    [
        ([{"document": "/etc/passwd", "startLine": 1, "endLine": 1, "newText": "x"}], "not a document of the history"),
        ([{"document": "src/calc.py", "startLine": 40, "endLine": 41, "newText": "x"}], "do not exist"),
        (
            [
                {"document": "src/calc.py", "startLine": 1, "endLine": 2, "newText": "x"},
                {"document": "src/calc.py", "startLine": 2, "endLine": 3, "newText": "y"},
            ],
            "overlap",
        ),
    ],
)
async def test_executor_shows_an_invalid_edit_instead_of_applying_it(
    server: FaultServer, edits: list, reason: str
) -> None:
    server.answers["proactive_execution"] = {"kind": "edit", "label": "Change", "explanation": "e", "edits": edits}
    out = await execute_task(
        endpoint(server.url), _proposal(), lambda uri: DOC if uri == URI else None, workspace_roots=["file:///ws"]
    )
    assert isinstance(out, ShowMarkdown) and reason in out.markdown and "was not applied" in out.markdown


async def test_executor_raises_when_the_model_cannot_answer() -> None:
    with pytest.raises(ModelError):
        await execute_task(
            endpoint(f"http://127.0.0.1:{closed_port()}/v1", max_retries=0), _proposal(), lambda uri: DOC
        )


@pytest.mark.parametrize("max_tokens", [256, 1024, 1536, 4096])
def test_executor_schema_fits_either_shape_into_max_tokens(max_tokens: int) -> None:
    from proactive_ls.executor import exec_schema

    md, edit = exec_schema(max_tokens)["anyOf"]
    md_chars = sum(p.get("maxLength", 0) for p in md["properties"].values())
    item = edit["properties"]["edits"]["items"]["properties"]
    edit_chars = (
        edit["properties"]["label"]["maxLength"]
        + edit["properties"]["explanation"]["maxLength"]
        + edit["properties"]["edits"]["maxItems"] * (item["document"]["maxLength"] + item["newText"]["maxLength"])
    )
    budget = max(400, (max_tokens - 64) * 1.5)
    assert md_chars <= budget and edit_chars <= budget
    assert md["additionalProperties"] is False and edit["additionalProperties"] is False


def test_edit_on_a_document_without_final_newline() -> None:
    text = "a\nb"
    ans = parse_exec_answer(
        json.dumps(
            {
                "kind": "edit",
                "label": "l",
                "explanation": "",
                "edits": [
                    {"document": "d", "startLine": 2, "endLine": 2, "newText": "B\n"},
                    {"document": "d", "startLine": 3, "endLine": 2, "newText": "c\n"},
                ],
            }
        )
    )
    edit = build_edit(ans, {"d": ("file:///d", text, 2)})  # type: ignore[arg-type]
    assert apply_text_edits(text, edit["changes"]["file:///d"]) == "a\nB\nc"


# -- doctor ------------------------------------------------------------------------------------------


async def test_doctor_healthy_then_unhealthy(server: FaultServer) -> None:
    report = await run_doctor(endpoint(server.url))
    assert report.healthy, report.checks
    assert [c.status for c in report.checks] == ["ok", "ok", "ok", "ok"]
    assert report.models == ["proactive-test"] and report.latency_s is not None
    server.stop()
    report = await run_doctor(endpoint(server.url))
    assert not report.healthy and report.checks[0].status == "fail" and "start the server" in report.checks[0].fix


async def test_doctor_lists_what_is_served_and_flags_unstructured_servers(server: FaultServer) -> None:
    report = await run_doctor(endpoint(server.url, name="other"))
    assert not report.healthy and "served: proactive-test" in report.checks[1].detail
    server.default_mode = "fenced"
    report = await run_doctor(endpoint(server.url))
    assert report.healthy and report.checks[-1].status == "warn" and "structured output" in report.checks[-1].detail


def test_main_doctor_exit_codes(server: FaultServer, tmp_path: Path) -> None:
    from proactive_ls.doctor import main_doctor

    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps({"backend": "vllm", "model": {"url": server.url, "name": "proactive-test", "maxTokens": 512}})
    )
    assert main_doctor(settings, None, None) == 0
    assert main_doctor(None, f"http://127.0.0.1:{closed_port()}/v1", "proactive-test") == 1
    assert main_doctor(None, None, None) == 0  # the embedded proposer needs no model server


# -- the shipped model configurations ----------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", sorted((REPO / "models").glob("*.json")), ids=lambda p: p.name)
def test_model_configs_are_valid_settings_and_serve_arguments(path: Path) -> None:
    from proactive_ls.config import parse_settings

    cfg = json.loads(path.read_text())
    assert {"id", "role", "description", "serve", "settings"} <= set(cfg)
    settings = parse_settings(cfg["settings"])
    endpoints = [e for e in (settings.model, settings.judge_model) if e is not None]
    assert endpoints, "a model config must configure an endpoint"
    script = (REPO / "scripts" / "serve-vllm.sh").read_text()
    known = {
        line.strip().split(")")[0] for line in script.splitlines() if line.strip().startswith("--") and ")" in line
    }
    options = [a for a in cfg["serve"] if a.startswith("--")]
    assert set(options) <= known, set(options) - known
    name = cfg["serve"][cfg["serve"].index("--name") + 1]
    loras = [cfg["serve"][i + 1].split("=")[0] for i, a in enumerate(cfg["serve"]) if a == "--lora"]
    for ep in endpoints:  # every configured name is one the server will list
        assert ep.name in [name, *loras]
        assert ep.max_tokens >= 384  # the schema's floors need room (see llm/schema.py)


async def test_a_trickling_server_meets_a_total_deadline_not_one_per_read(server: FaultServer) -> None:
    server.default_mode = "trickle"
    server.trickle_s = 0.1  # ~1000 bytes: 100 s in all, each read well within the timeout
    notes: list[str] = []
    p = proposer_for(server.url, notes, timeout_s=1.0, max_retries=0)
    p.client.retry = RetryPolicy(max_retries=0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    s = await p.propose(ctx_of(session()))
    elapsed = loop.time() - started
    await p.aclose()
    assert s is not None and s.model is None  # the embedded proposer's answer instead
    assert p.last_error is not None and p.last_error.kind == "timeout" and "total deadline" in str(p.last_error)
    assert elapsed < 10  # bounded by the deadline (1 s), not by the 100 s the trickle would take


async def test_an_oversized_answer_is_refused_while_it_streams(server: FaultServer) -> None:
    server.default_mode = "huge"
    notes: list[str] = []
    p = proposer_for(server.url, notes, timeout_s=10.0, max_retries=0)
    p.client.retry = RetryPolicy(max_retries=0)
    s = await p.propose(ctx_of(session()))
    await p.aclose()
    assert s is not None and s.model is None
    assert p.last_error is not None and p.last_error.kind == "invalid" and "larger than" in str(p.last_error)
