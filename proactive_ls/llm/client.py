"""An async client of an OpenAI-compatible server (vLLM): retries, backoff, a circuit breaker.

What is retried, and why: a refused connection, a timeout, 429 and 500/502/503/504 are usually
passing (a restarting server, a full queue), so they are retried with exponential backoff and
full jitter, honouring ``Retry-After``. Other 4xx are our mistake or the configuration's (a wrong
model name, a missing key): retrying cannot help. After ``failure_threshold`` failed calls in a
row the circuit opens and calls fail at once, without touching the network, until a cool-down
has passed; then one trial call is let through (half-open): success closes the circuit, failure
opens it again. Callers fall back to the embedded proposer while it is open.

Tests inject an ``httpx.MockTransport`` (or any ``httpx.AsyncBaseTransport``) as ``transport``.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx

from proactive_ls.config import ModelEndpoint

T = TypeVar("T")
MAX_ANSWER_BYTES = 1024 * 1024  # a whole HTTP answer of the model server, bytes after decoding

ErrorKind = Literal["unreachable", "timeout", "http", "invalid", "circuit_open"]
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class ModelError(Exception):
    """A call to the model server failed; ``kind`` says how, ``str()`` says it for a user."""

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status


class CircuitOpen(ModelError):
    def __init__(self, retry_in_s: float) -> None:
        super().__init__("circuit_open", f"the model server failed repeatedly; next try in {retry_in_s:.0f} s")
        self.retry_in_s = retry_in_s


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n))."""

    max_retries: int = 2
    base_s: float = 0.25
    cap_s: float = 4.0
    max_retry_after_s: float = 10.0  # a longer Retry-After is not waited for: the call fails instead

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap_s, self.base_s * (2**attempt)))


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class CircuitBreaker:
    """closed → open after ``failure_threshold`` consecutive failures → half-open after ``cooldown_s``
    → closed on success."""

    failure_threshold: int = 3
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _trial_in_flight: bool = field(default=False, repr=False)

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` when a call must not be made now."""
        if self.state is CircuitState.OPEN:
            waited = self.clock() - self.opened_at
            if waited < self.cooldown_s:
                raise CircuitOpen(self.cooldown_s - waited)
            self.state = CircuitState.HALF_OPEN
            self._trial_in_flight = False
        if self.state is CircuitState.HALF_OPEN:
            if self._trial_in_flight:
                raise CircuitOpen(0.0)
            self._trial_in_flight = True

    def record_success(self) -> None:
        self.state = CircuitState.CLOSED
        self.failures = 0
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._trial_in_flight = False
        self.failures += 1
        if self.state is CircuitState.HALF_OPEN or self.failures >= self.failure_threshold:
            self.state = CircuitState.OPEN
            self.opened_at = self.clock()

    def record_abandoned(self) -> None:
        """A call was cancelled before it ended: it proves nothing either way."""
        self._trial_in_flight = False


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None  # reported by vLLM with --enable-prompt-tokens-details

    @classmethod
    def of(cls, data: dict[str, Any] | None) -> Usage:
        data = data or {}
        details = data.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        return cls(
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            cached_tokens=int(cached) if isinstance(cached, (int, float)) else None,
        )


@dataclass(frozen=True)
class ChatResult:
    content: str
    finish_reason: str | None
    usage: Usage
    latency_s: float
    model: str | None = None


@dataclass
class UsageCounters:
    """Totals over a client's life, for the status view and the measurements."""

    requests: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    last: Usage | None = None

    def add(self, u: Usage) -> None:
        self.requests += 1
        self.prompt_tokens += u.prompt_tokens
        self.completion_tokens += u.completion_tokens
        self.cached_tokens += u.cached_tokens or 0
        self.last = u

    @property
    def cached_share(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_detail(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err.get("detail") or err)[:300]
        return str(err)[:300]
    return str(data)[:300]


class ModelClient:
    """One endpoint's client. Not shared between sessions: each has its own breaker and counters."""

    def __init__(
        self,
        endpoint: ModelEndpoint,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        session_id: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        # Sent as X-Session-Id so that a router in front of several replicas can keep a session on
        # one replica, where its prefix is cached (see models/README.md).
        self.session_id = session_id or uuid.uuid4().hex
        self.retry = retry or RetryPolicy(max_retries=endpoint.max_retries)
        self.breaker = breaker or CircuitBreaker()
        self.counters = UsageCounters()
        self._sleep = sleep
        self._rng = rng or random.Random()
        headers = {"User-Agent": "proactive-ls", "X-Session-Id": self.session_id}
        key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.AsyncClient(
            base_url=endpoint.url + "/",
            headers=headers,
            timeout=httpx.Timeout(endpoint.timeout_s, connect=min(endpoint.timeout_s, 5.0)),
            transport=transport,
            trust_env=False,  # a proxy from the environment must not see the (redacted) history
        )

    @property
    def url(self) -> str:
        return self.endpoint.url

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- one HTTP exchange, with retries ---------------------------------------------------------

    async def _bounded_request(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        """The response read as a stream and counted: an answer over :data:`MAX_ANSWER_BYTES` is refused
        before it is all in memory (a server that ignores max_tokens cannot fill the editor's RAM)."""
        async with self._http.stream(method, path, json=body) as resp:
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_ANSWER_BYTES:
                    raise ModelError("invalid", f"the answer is larger than {MAX_ANSWER_BYTES // 1024} KiB")
                chunks.append(chunk)
            skip = ("content-encoding", "content-length", "transfer-encoding")
            headers = [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in skip]
            return httpx.Response(resp.status_code, headers=headers, content=b"".join(chunks), request=resp.request)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        attempt = 0
        while True:
            try:
                resp = await asyncio.wait_for(self._bounded_request(method, path, body), self.endpoint.timeout_s)
            except TimeoutError:  # the whole exchange, however slowly the bytes trickle in
                error = ModelError("timeout", f"no answer within {self.endpoint.timeout_s:g} s (total deadline)")
                wait = None
            except httpx.TimeoutException as exc:
                error = ModelError("timeout", f"no answer within {self.endpoint.timeout_s:g} s ({type(exc).__name__})")
                wait = None
            except httpx.TransportError as exc:  # refused, reset, DNS, protocol errors
                reason = str(exc) or type(exc).__name__
                error = ModelError("unreachable", reason)
                wait = None
            else:
                if resp.status_code < 400:
                    return resp
                detail = _error_detail(resp)
                error = ModelError(
                    "http",
                    f"HTTP {resp.status_code}: {detail}" if detail else f"HTTP {resp.status_code}",
                    resp.status_code,
                )
                if resp.status_code == 401 and self.endpoint.api_key_env:
                    error = ModelError("http", f"HTTP 401: check the API key in ${self.endpoint.api_key_env}", 401)
                if resp.status_code not in RETRY_STATUS:
                    raise error
                wait = _retry_after(resp)
                if wait is not None and wait > self.retry.max_retry_after_s:
                    raise error
            if attempt >= self.retry.max_retries:
                raise error
            await self._sleep(wait if wait is not None else self.retry.delay(attempt, self._rng))
            attempt += 1

    async def _guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run one logical call under the circuit breaker."""
        self.breaker.before_call()
        try:
            result = await call()
        except asyncio.CancelledError:
            self.breaker.record_abandoned()
            raise
        except Exception:
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return result

    # -- the API -----------------------------------------------------------------------------------

    async def list_models(self) -> list[dict[str, Any]]:
        """``GET /v1/models``: the model cards (``id``, and ``max_model_len`` on vLLM)."""

        async def call() -> list[dict[str, Any]]:
            resp = await self._send("GET", "models", None)
            try:
                data = resp.json()["data"]
            except (ValueError, KeyError, TypeError) as exc:
                raise ModelError("invalid", "GET /models did not return a model list") from exc
            return [m for m in data if isinstance(m, dict)]

        return await self._guarded(call)

    async def _chat_once(
        self, messages: list[dict[str, str]], response_format: dict[str, Any] | None, **params: Any
    ) -> ChatResult:
        body: dict[str, Any] = {
            "model": self.endpoint.name,
            "messages": messages,
            "max_tokens": self.endpoint.max_tokens,
            "temperature": self.endpoint.temperature,
            "stream": False,
        }
        if response_format is not None:
            body["response_format"] = response_format
        body.update(params)
        started = time.monotonic()
        resp = await self._send("POST", "chat/completions", body)
        latency = time.monotonic() - started
        try:
            data = resp.json()
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise ModelError("invalid", "the server's reply is not a chat completion") from exc
        usage = Usage.of(data.get("usage"))
        self.counters.add(usage)
        return ChatResult(
            content=content,
            finish_reason=choice.get("finish_reason"),
            usage=usage,
            latency_s=latency,
            model=data.get("model"),
        )

    async def chat(
        self, messages: list[dict[str, str]], *, response_format: dict[str, Any] | None = None, **params: Any
    ) -> ChatResult:
        """``POST /v1/chat/completions`` under retries and the breaker."""
        return await self._guarded(lambda: self._chat_once(messages, response_format, **params))

    async def chat_parsed(
        self,
        messages: list[dict[str, str]],
        parse: Callable[[str], T],
        *,
        response_format: dict[str, Any] | None = None,
        **params: Any,
    ) -> tuple[T, ChatResult]:
        """Chat and parse in one guarded call: an answer that does not parse counts as a failure."""

        async def call() -> tuple[T, ChatResult]:
            result = await self._chat_once(messages, response_format, **params)
            try:
                return parse(result.content), result
            except ValueError as exc:
                cut = " (cut off at max_tokens)" if result.finish_reason == "length" else ""
                raise ModelError("invalid", f"{exc}{cut}") from exc

        return await self._guarded(call)


def describe_outage(url: str, error: ModelError, instead: str = "the embedded proposer") -> str:
    """The one message a user reads when the model path stops working."""
    if error.kind in ("unreachable", "timeout", "circuit_open"):
        what = f"is unreachable ({error})"
    elif error.kind == "invalid":
        what = f"gives answers that cannot be used ({error})"
    else:
        what = f"is failing ({error})"
    return f"The model server at {url} {what}; using {instead} until it answers again."


class OutageNotifier:
    """Tells the user once when an outage starts and once when it ends, never in between."""

    def __init__(self, url: str, notify: Callable[[str], None] | None, instead: str, back: str) -> None:
        self.url = url
        self._notify = notify
        self._instead = instead
        self._back = back
        self.current: str | None = None  # the message of the outage in progress
        self.outages = 0

    def _say(self, message: str) -> None:
        if self._notify is None:
            return
        try:
            self._notify(message)
        except Exception:  # a failing notification must not break proposing
            logging.getLogger(__name__).exception("notify failed")

    def fault(self, error: ModelError, circuit_open: bool = False) -> None:
        """A call failed after its retries. A server that cannot be reached is an outage at once; one
        unusable answer is not (the next is usually fine), repeated ones are (the circuit opened)."""
        if error.kind == "invalid" and not circuit_open:
            return
        if self.current is None:
            self.outages += 1
            self.current = describe_outage(self.url, error, self._instead)
            self._say(self.current)

    def success(self) -> None:
        if self.current is not None:
            self.current = None
            self._say(f"The model server at {self.url} answers again; {self._back}.")
