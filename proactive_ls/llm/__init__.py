"""The model path: a client of vLLM's OpenAI-compatible API, the answer schemas, and the prompts.

vLLM itself is never imported: it runs as a separate server (scripts/serve-vllm.sh).
"""

from proactive_ls.llm.client import (
    ChatResult,
    CircuitBreaker,
    CircuitOpen,
    CircuitState,
    ModelClient,
    ModelError,
    RetryPolicy,
    Usage,
    UsageCounters,
    describe_outage,
)
from proactive_ls.llm.prompt import JudgeWindow, Transcript
from proactive_ls.llm.schema import (
    AnswerError,
    JudgeAnswer,
    ModelAnswer,
    answer_schema,
    judge_schema,
    parse_answer,
    parse_judgement,
    response_format,
)

__all__ = [
    "AnswerError",
    "ChatResult",
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitState",
    "JudgeAnswer",
    "JudgeWindow",
    "ModelAnswer",
    "ModelClient",
    "ModelError",
    "RetryPolicy",
    "Transcript",
    "Usage",
    "UsageCounters",
    "answer_schema",
    "describe_outage",
    "judge_schema",
    "parse_answer",
    "parse_judgement",
    "response_format",
]
