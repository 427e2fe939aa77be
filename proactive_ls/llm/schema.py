"""The answers models give, as validated models, their JSON schemas, and a tolerant parser.

The released ProactiveAgent models answer ``{"Purpose", "Thoughts", "Proactive Task", "Response"}``
and the reward model ``{"thought", "judgement": "accepted" | "rejected"}``. With vLLM's structured
output (``response_format`` json_schema) every answer already matches the schema; the parser
also accepts what a server without structured output returns (code fences, prose around the
object, ``"null"`` strings, trailing text), because the released models were trained that way.

Every string of a schema has a ``maxLength``: a model that never closes a string (a random one,
or a real one in a loop) is then forced to close it, so the JSON completes within ``max_tokens``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from proactive_ls.llm.sanitize import MESSAGE_CHARS, TASK_CHARS, THOUGHTS_CHARS, clean

T = TypeVar("T", bound=BaseModel)

#: Strings models use for "no task" instead of JSON null.
NULL_STRINGS = frozenset({"", "null", "none", "nil", "n/a", "na", "no task", "no", "false", "`null`", '"null"'})


class AnswerError(ValueError):
    """The model's reply is not an answer of the expected shape (the message says why)."""


def _blank_to_empty(v: Any) -> Any:
    if v is None:
        return ""
    if not isinstance(v, str):
        return json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
    return v.strip()


class ModelAnswer(BaseModel):
    """A proposer model's answer in the ProactiveBench format."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    purpose: str = Field(default="", alias="Purpose", description="The purpose of the user's last action.")
    thoughts: str = Field(default="", alias="Thoughts", description="Your thoughts on the user's actions.")
    proactive_task: str | None = Field(
        default=None,
        alias="Proactive Task",
        description="Describe your proposed task, or null if no assistance is needed.",
    )
    response: str = Field(
        default="", alias="Response", description="Inform the user about your assistance if proposing a task."
    )

    _strings = field_validator("purpose", "thoughts", "response", mode="before")(_blank_to_empty)

    @field_validator("proactive_task", mode="before")
    @classmethod
    def _task(cls, v: Any) -> Any:
        if v is None or v is False:
            return None
        if isinstance(v, list):  # some models answer a list of candidate tasks: take the first
            v = next((x for x in v if isinstance(x, str) and x.strip()), None)
            if v is None:
                return None
        if not isinstance(v, str):
            raise ValueError("must be a string or null")
        v = v.strip()
        return None if v.lower().strip(" .`'\"") in NULL_STRINGS else v

    @field_validator("proactive_task", "purpose", "thoughts", "response", mode="after")
    @classmethod
    def _as_data(cls, v: str | None, info: ValidationInfo) -> str | None:
        """Bounded and cleaned by the client, whatever the server sent (llm/sanitize.py)."""
        if v is None:
            return None
        limits = {"proactive_task": TASK_CHARS, "thoughts": THOUGHTS_CHARS}
        return clean(v, limits.get(info.field_name or "", MESSAGE_CHARS))

    def wire(self) -> dict[str, Any]:
        """The answer as the model wrote it (keys as in the training data)."""
        return self.model_dump(by_alias=True)

    def wire_json(self) -> str:
        """Stable JSON text of the answer, as the training data stored assistant turns."""
        return json.dumps(self.wire(), ensure_ascii=False)


class JudgeAnswer(BaseModel):
    """A reward model's answer in the ProactiveBench judge format."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    thought: str = Field(default="", description="Give your thoughts first, then provide the judgement of the task.")
    judgement: Literal["accepted", "rejected"]

    _strings = field_validator("thought", mode="before")(_blank_to_empty)

    @field_validator("judgement", mode="before")
    @classmethod
    def _judgement(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "accepted" if v else "rejected"
        if isinstance(v, str):
            low = v.strip().lower().strip(" .`'\"")
            if low in {"accepted", "accept", "yes", "true", "approved"}:
                return "accepted"
            if low in {"rejected", "reject", "no", "false", "declined"}:
                return "rejected"
        return v

    @property
    def accepted(self) -> bool:
        return self.judgement == "accepted"


# Field limits (characters) of the proposer's answer. Released models' answers on ProactiveBench:
# Purpose p99 193, Thoughts p99 530, task p99 229, Response p99 631 characters.
ANSWER_LIMITS: dict[str, int] = {"Purpose": 300, "Thoughts": 800, "Proactive Task": 300, "Response": 800}
JUDGE_LIMITS: dict[str, int] = {"thought": 800}


# Below these a field says too little to be worth showing (a task is cut mid-phrase).
ANSWER_FLOORS: dict[str, int] = {"Purpose": 80, "Thoughts": 120, "Proactive Task": 160, "Response": 160}
JUDGE_FLOORS: dict[str, int] = {"thought": 200}


def _scaled(
    limits: dict[str, int], floors: dict[str, int], max_tokens: int | None, chars_per_token: float = 3.0
) -> dict[str, int]:
    """Shrink the limits so the whole answer fits ``max_tokens`` at ~3 characters a token, not below the floors.

    A model whose tokens are shorter (escapes, a random model) can still run out of tokens:
    that answer is cut off, fails to parse and counts as a fault. Give such models more max_tokens.
    """
    if max_tokens is None:
        return dict(limits)
    budget = max(0.0, (max_tokens - 32) * chars_per_token)  # 32 tokens for keys and punctuation
    total = sum(limits.values())
    if budget >= total:
        return dict(limits)
    return {k: max(floors.get(k, 24), int(v * budget / total)) for k, v in limits.items()}


def answer_schema(max_tokens: int | None = None) -> dict[str, Any]:
    """JSON schema of :class:`ModelAnswer`, strict: every key required, no other key allowed."""
    lim = _scaled(ANSWER_LIMITS, ANSWER_FLOORS, max_tokens)
    return {
        "type": "object",
        "properties": {
            "Purpose": {"type": "string", "maxLength": lim["Purpose"]},
            "Thoughts": {"type": "string", "maxLength": lim["Thoughts"]},
            "Proactive Task": {
                "anyOf": [{"type": "string", "minLength": 1, "maxLength": lim["Proactive Task"]}, {"type": "null"}]
            },
            "Response": {"type": "string", "maxLength": lim["Response"]},
        },
        "required": ["Purpose", "Thoughts", "Proactive Task", "Response"],
        "additionalProperties": False,
    }


def judge_schema(max_tokens: int | None = None) -> dict[str, Any]:
    """JSON schema of :class:`JudgeAnswer` (the thought first, as the reward model was trained)."""
    lim = _scaled(JUDGE_LIMITS, JUDGE_FLOORS, max_tokens)
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": lim["thought"]},
            "judgement": {"type": "string", "enum": ["accepted", "rejected"]},
        },
        "required": ["thought", "judgement"],
        "additionalProperties": False,
    }


def response_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI ``response_format`` vLLM honours (its older ``guided_json`` field is ignored now)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


_FENCE = re.compile(r"```[ \t]*(?:json5?|JSON)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
_KEY_NORMAL = re.compile(r"[\s_\-]+")


def extract_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in a reply: inside a code fence if there is one, prose and trailing text ignored."""
    if text is None or not text.strip():
        raise AnswerError("the answer is empty")
    candidates: list[str] = [m.group(1) for m in _FENCE.finditer(text)]
    candidates.append(text)
    decoder = json.JSONDecoder()
    last_error = "no JSON object in the answer"
    for chunk in candidates:
        start = chunk.find("{")
        while start != -1:
            try:
                obj, _end = decoder.raw_decode(chunk, start)
            except json.JSONDecodeError as exc:
                last_error = f"the JSON is invalid or truncated ({exc.msg} at character {exc.pos})"
            else:
                if isinstance(obj, dict):
                    return obj
                last_error = "the JSON is not an object"
            start = chunk.find("{", start + 1)
    raise AnswerError(last_error)


def _normalise_keys(obj: dict[str, Any], known: list[str]) -> dict[str, Any]:
    """Map 'proactive_task', 'PROACTIVE TASK', 'proactiveTask' ... onto the schema's keys."""
    index = {_KEY_NORMAL.sub("", k).lower(): k for k in known}
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = index.get(_KEY_NORMAL.sub("", str(k)).lower(), k)
        out.setdefault(key, v)
    return out


def parse_model(text: str, model: type[T], keys: list[str], required: tuple[str, ...] = ()) -> T:
    obj = _normalise_keys(extract_json_object(text), keys)
    missing = [k for k in required if k not in obj]
    if missing:
        raise AnswerError(f"the answer lacks {', '.join(repr(k) for k in missing)}")
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        raise AnswerError(f"the answer does not match the schema ({where}: {first['msg']})") from exc


def parse_answer(text: str) -> ModelAnswer:
    """Parse a proposer's reply; raises :class:`AnswerError`.

    A reply needs at least the task key (its absence is an answer of another schema, not silence).
    """
    return parse_model(
        text, ModelAnswer, ["Purpose", "Thoughts", "Proactive Task", "Response"], required=("Proactive Task",)
    )


def parse_judgement(text: str) -> JudgeAnswer:
    """Parse a reward model's reply; raises :class:`AnswerError`.

    The paper's prompt spells the key "judgement"; its appendix "judgment": both are accepted.
    """
    obj = extract_json_object(text)
    if "judgement" not in obj and "judgment" in obj:
        obj["judgement"] = obj.pop("judgment")
    return parse_model(json.dumps(obj), JudgeAnswer, ["thought", "judgement"], required=("judgement",))
