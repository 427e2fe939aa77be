"""The model proposer: asks a vLLM-served model (ProactiveAgent's or a team's fine-tune) for a task.

One instance serves one session: it keeps that session's conversation with the model (so that
consecutive requests share their prefix in vLLM's cache), at most one request in flight, and
its own circuit breaker. When the server cannot answer, the embedded proposer answers instead
and the user is told once; when the server answers again, the user is told once more.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from proactive_ls.config import ModelEndpoint
from proactive_ls.llm.client import (
    CircuitBreaker,
    CircuitState,
    ModelClient,
    ModelError,
    OutageNotifier,
    RetryPolicy,
    Usage,
    UsageCounters,
)
from proactive_ls.llm.prompt import Transcript
from proactive_ls.llm.schema import ModelAnswer, answer_schema, parse_answer, response_format
from proactive_ls.proposals import ModelTask, Suggestion
from proactive_ls.proposers.base import ProposalContext, Proposer

log = logging.getLogger(__name__)


@dataclass
class ProposerStats:
    model_answers: int = 0
    model_tasks: int = 0
    fallback_answers: int = 0
    superseded: int = 0
    faults: int = 0


class VllmProposer:
    """Proposer ``"vllm"``. ``fallback`` answers while the server cannot; it is not closed by :meth:`aclose`."""

    name = "vllm"

    def __init__(
        self,
        endpoint: ModelEndpoint,
        fallback: Proposer,
        notify: Callable[[str], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.fallback = fallback
        self.client = ModelClient(endpoint, transport=transport, retry=retry, breaker=breaker)
        self.transcript = Transcript(budget_tokens=endpoint.history_token_budget)
        self.outage = OutageNotifier(
            endpoint.url, notify, instead="the embedded proposer", back=f"proposals come from {endpoint.name} again"
        )
        self.stats = ProposerStats()
        self.last_answer: ModelAnswer | None = None
        self.last_error: ModelError | None = None
        self._format = response_format("proactive_answer", answer_schema(endpoint.max_tokens))
        self._inflight: asyncio.Task[Suggestion | None] | None = None
        self._inflight_end = -1

    # -- what the status view and the measurements read --------------------------------------------

    @property
    def last_usage(self) -> Usage | None:
        return self.client.counters.last

    @property
    def counters(self) -> UsageCounters:
        """Prompt, cached and completion tokens over this session (cached needs --enable-prompt-tokens-details)."""
        return self.client.counters

    @property
    def degraded(self) -> bool:
        return self.outage.current is not None

    # -- the Proposer protocol -----------------------------------------------------------------------

    async def propose(self, ctx: ProposalContext) -> Suggestion | None:
        waiting = self.transcript.sync(ctx.history)
        end = self.transcript.log.end
        previous = self._inflight
        if previous is not None and not previous.done():
            if self._inflight_end == end:
                # Nothing new since that request: its answer is this call's answer too.
                return await asyncio.shield(previous)
            previous.cancel()  # newer events make it stale; one request in flight at most
            await asyncio.wait([previous])
        if waiting <= 0:
            return None  # everything the model saw is answered already
        task = asyncio.create_task(self._ask(ctx, end))
        self._inflight, self._inflight_end = task, end
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller itself is being cancelled
            self.stats.superseded += 1
            return None  # a newer propose() replaced this one

    async def _ask(self, ctx: ProposalContext, end: int) -> Suggestion | None:
        messages = self.transcript.messages()
        try:
            answer, result = await self.client.chat_parsed(messages, parse_answer, response_format=self._format)
        except ModelError as exc:
            self.stats.faults += 1
            self.last_error = exc
            self.outage.fault(exc, circuit_open=self.client.breaker.state is not CircuitState.CLOSED)
            log.info("model %s at %s: %s; the embedded proposer answers", self.endpoint.name, self.endpoint.url, exc)
            self.stats.fallback_answers += 1
            return await self.fallback.propose(ctx)
        self.outage.success()
        self.stats.model_answers += 1
        self.last_answer = answer
        # The answer goes back into the conversation as generated when it is clean JSON, so that
        # the next request's prefix matches the cached generation too.
        self.transcript.commit(result.content if _is_bare_object(result.content) else answer.wire_json(), stop=end)
        return self.suggestion(answer)

    def suggestion(self, answer: ModelAnswer) -> Suggestion | None:
        """A model answer as a suggestion; a null task is silence."""
        task = (answer.proactive_task or "").strip()
        if not task:
            return None
        self.stats.model_tasks += 1
        return Suggestion(
            task=task[:300],
            message=answer.response.strip() or task,
            purpose=answer.purpose or None,
            thoughts=answer.thoughts or None,
            operation=ModelTask(),
            model=self.endpoint.name,
        )

    async def aclose(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
            await asyncio.wait([self._inflight])
        await self.client.aclose()


def _is_bare_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
