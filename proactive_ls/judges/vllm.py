"""The reward-model judge: asks a vLLM-served reward model whether the user would accept a proposal.

The prompt is ProactiveBench's reward-model template (the released reward model was trained on
it): the observations, the proposed task, and an answer ``{"thought", "judgement"}`` where the
judgement is "accepted" or "rejected", forced by structured output.

On a fault it fails OPEN to the fallback judge given to it (the CPU gate, or accept-all): a
broken reward model must not silence the assistant for good, and the fallback still filters.
The verdict then names the fallback as its judge and says in its reason that the reward model
was unavailable, so the feedback log shows who decided. The user is told once per outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

from proactive_ls.config import ModelEndpoint
from proactive_ls.judges.base import Judge
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
from proactive_ls.llm.prompt import JudgeWindow
from proactive_ls.llm.schema import JudgeAnswer, judge_schema, parse_judgement, response_format
from proactive_ls.proposals import Suggestion, Verdict
from proactive_ls.proposers.base import ProposalContext

log = logging.getLogger(__name__)


class VllmJudge:
    """Judge ``"vllm"``. ``fallback`` decides while the reward model cannot; it is not closed by :meth:`aclose`."""

    name = "vllm"

    def __init__(
        self,
        endpoint: ModelEndpoint,
        fallback: Judge,
        notify: Callable[[str], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.fallback = fallback
        self.client = ModelClient(endpoint, transport=transport, retry=retry, breaker=breaker)
        self.window = JudgeWindow(budget_tokens=endpoint.history_token_budget)
        self.outage = OutageNotifier(
            endpoint.url,
            notify,
            instead=f"the '{getattr(fallback, 'name', 'fallback')}' judge",
            back=f"the reward model {endpoint.name} judges proposals again",
        )
        self.last_answer: JudgeAnswer | None = None
        self.last_error: ModelError | None = None
        self._format = response_format("proactive_judgement", judge_schema(endpoint.max_tokens))

    @property
    def last_usage(self) -> Usage | None:
        return self.client.counters.last

    @property
    def counters(self) -> UsageCounters:
        return self.client.counters

    async def judge(self, ctx: ProposalContext, suggestion: Suggestion) -> Verdict:
        messages = self.window.messages(ctx.history, suggestion.task)
        try:
            answer, _ = await self.client.chat_parsed(messages, parse_judgement, response_format=self._format)
        except ModelError as exc:
            self.last_error = exc
            self.outage.fault(exc, circuit_open=self.client.breaker.state is not CircuitState.CLOSED)
            log.info(
                "reward model %s at %s: %s; the %s judge decides",
                self.endpoint.name,
                self.endpoint.url,
                exc,
                self.fallback.name,
            )
            verdict = await self.fallback.judge(ctx, suggestion)
            why = f"reward model unavailable ({exc})"
            return verdict.model_copy(update={"reason": f"{verdict.reason}; {why}" if verdict.reason else why})
        self.outage.success()
        self.last_answer = answer
        return Verdict(accept=answer.accepted, reason=answer.thought or answer.judgement, judge=self.name)

    async def aclose(self) -> None:
        await self.client.aclose()
