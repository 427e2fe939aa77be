"""Prompts built for vLLM's automatic prefix caching, in the format the released models learnt.

vLLM reuses the KV cache of the longest prefix a new request shares, byte for byte (block by
block), with an earlier one. So, per session:

- the system prompt is a constant (no time, no workspace name, no settings in it);
- each step is rendered once, when it is first seen, to ``{"Time": <absolute time>, "Event": ...}``
  and never re-rendered (an absolute time does not change; "2 minutes ago" would);
- the conversation is only appended to: earlier steps and earlier answers stay as they were
  sent, so request n+1 shares all of request n but its last user message;
- the history is bounded by a token budget, and when it overflows the oldest turns are dropped
  in one block, down to half the budget, so the prefix is stable again for the many requests
  until the next drop (dropping one step per request would change the prefix every time).

The proposer conversation follows ProactiveAgent's training data: system prompt, then
alternating user turns (the steps since the previous answer) and assistant turns (that answer
as JSON), and a last user turn ``{"Instructions": ..., "Observations": [...]}``.
The judge prompt follows ProactiveBench's reward-model template.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from proactive_ls.events import EventBase, render_step

# The released proposer's system prompt (thunlp/ProactiveAgent, gym/components/activeagent.py),
# kept as it is because the models were fine-tuned on it. Never format anything into it.
SYSTEM_PROMPT = """<Role> You are a helpful assistant that provides proactive suggestions to the user. </Role> 

<Task> Understand what the user is doing and anticipate their needs based on events. Only propose assistance when you fully understand the user's actions. Use available operations to ensure the task is feasible. Execute the task if the user accepts your proposal. </Task> 

<Format> Respond in the following JSON format: 
{
    "Purpose": "The purpose of the user's last action.", 
    "Thoughts": "Your thoughts on the user's actions.", 
    "Proactive Task": "Describe your proposed task, or set to `null` if no assistance is needed.", 
    "Response": "Inform the user about your assistance if proposing a task." 
}
</Format>

<Rules>
- Ensure the proposed task is relevant to the events. - Focus on the user's current needs and predict helpful tasks.
- Consider the timing of events.
- Only offer proactive assistance when necessary.
- Deduce the user's purpose and whether they need help based on event history.
- Set `Proactive Task` to `null` if the user doesn't need help. 
</Rules>"""

STEP_INSTRUCTIONS = "Now analyze the history events and provide a task if you think the user needs your help."

# The reward model's prompt (ProactiveBench, eval/reward_model_template.py).
JUDGE_SYSTEM_PROMPT = """<Task>
Evaluate the task proposed by the proactive assistant as the user.
</Task>

<Rule>
0. Analyze the current observation to understand your current situation and requirements.
1. If the proposed task is `null` (indicating no task is proposed under the current observation), follow these steps:
   - Accept the `null` task if you believe there is no need for a task.
   - Reject the `null` task if you believe a task is needed.
2. Minimize interruptions from the assistant by only accepting tasks that are valuable.
3. Evaluate the current observation and make a judgment on the proposed task accordingly.
</Rule>

<Format>
You should answer with following JSON format:
{
    "thought": "Give your thoughts first, then provide the judgement of the task.",
    "judgement": "accepted or rejected"
}
</Format>"""

JUDGE_INSTRUCTION = "Now give your judgement. You should complete the reasoning process in first person."


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate (3 bytes a token; real BPE vocabularies average 3.5–4.5 on English/code)."""
    return math.ceil(len(text.encode("utf-8")) / 3) + 1


def dumps(obj: object) -> str:
    """The one JSON rendering used in prompts (as ProactiveAgent's json.dumps): deterministic."""
    return json.dumps(obj)


@dataclass
class StepLog:
    """Every step a session has seen, rendered once, append-only.

    It follows the engine's history (which may be a sliding window) without depending on it:
    new events are found by walking back to the last step already logged.
    """

    steps: list[dict[str, str]] = field(default_factory=list)
    dropped: int = 0  # steps forgotten from the front, for absolute indexing
    # The last event logged, by identity: two events can render the same (a second save of the
    # same file within the same second), and walking back to an equal rendering would then find
    # no new event at all, and the model would not be asked (a lost trigger).
    last_event: EventBase | None = field(default=None, repr=False, compare=False)

    @property
    def end(self) -> int:
        return self.dropped + len(self.steps)

    def step(self, index: int) -> dict[str, str]:
        return self.steps[index - self.dropped]

    def sync(self, history: Sequence[EventBase]) -> int:
        """Append the events of ``history`` not logged yet; returns how many. -1 means the log was reset."""
        if not history:
            return 0
        previous, self.last_event = self.last_event, history[-1]
        if not self.steps:
            self.steps = [render_step(e) for e in history]
            return len(self.steps)
        for i in range(len(history) - 1, -1, -1):
            if history[i] is previous:
                fresh_events = history[i + 1 :]
                self.steps.extend(render_step(e) for e in fresh_events)
                return len(fresh_events)
        last = self.steps[-1]
        fresh: list[dict[str, str]] = []
        for event in reversed(history):
            rendered = render_step(event)
            if rendered == last:
                break
            fresh.append(rendered)
        else:
            # The last logged step is not in the history: another session's history, or a reset.
            self.dropped = self.end
            self.steps = [render_step(e) for e in history]
            return -1
        fresh.reverse()
        self.steps.extend(fresh)
        return len(fresh)

    def forget_before(self, index: int) -> None:
        """Free the memory of steps before ``index`` (they will never be sent again)."""
        n = index - self.dropped
        if n > 0:
            del self.steps[:n]
            self.dropped = index


@dataclass
class Turn:
    start: int  # absolute index of the turn's first step
    stop: int  # one past its last step
    answer: str  # the assistant's answer as sent back to the model (JSON text)
    tokens: int = 0


@dataclass
class Transcript:
    """One session's conversation with the proposer model."""

    budget_tokens: int
    keep_after_drop: float = 0.5
    log: StepLog = field(default_factory=StepLog)
    turns: list[Turn] = field(default_factory=list)
    pending_start: int = 0  # first step not answered yet
    note: str | None = None  # what the conversation says about the steps it no longer shows
    hidden: int = 0
    hidden_since: str | None = None
    drops: int = 0  # how many times the prefix was cut (each cut costs one cache miss)

    def sync(self, history: Sequence[EventBase]) -> int:
        """Take in the new events of the history; returns how many steps are waiting for an answer."""
        if self.log.sync(history) == -1:
            self.turns.clear()
            self.pending_start = self.log.dropped
            self.note, self.hidden, self.hidden_since = None, 0, None
        return self.log.end - self.pending_start

    @property
    def pending(self) -> list[dict[str, str]]:
        return [self.log.step(i) for i in range(self.pending_start, self.log.end)]

    @staticmethod
    def _user_content(steps: list[dict[str, str]], note: str | None) -> str:
        if note is None and len(steps) == 1:
            return dumps(steps[0])
        obj: dict[str, object] = {}
        if note is not None:
            obj["Earlier"] = note
        obj["Observations"] = steps
        return dumps(obj)

    def _hide(self, start: int, stop: int) -> None:
        if stop <= start:
            return
        if self.hidden_since is None:
            self.hidden_since = self.log.step(start)["Time"]
        self.hidden += stop - start
        last = self.log.step(stop - 1)["Time"]
        n = self.hidden
        self.note = f"{n} earlier event{'s' if n != 1 else ''}, from {self.hidden_since} to {last}, are not shown."

    def _fit(self) -> None:
        """Drop the oldest turns in one block when the history is over budget."""
        pending_tokens = sum(estimate_tokens(dumps(s)) for s in self.pending)
        total = pending_tokens + sum(t.tokens for t in self.turns)
        if total <= self.budget_tokens:
            return
        target = self.budget_tokens * self.keep_after_drop
        self.drops += 1
        while self.turns and total > target:
            turn = self.turns.pop(0)
            total -= turn.tokens
            self._hide(turn.start, turn.stop)
        if not self.turns and pending_tokens > self.budget_tokens:
            # The unanswered steps alone are too many (after a long outage): keep the newest.
            keep, used = self.log.end, 0
            while keep > self.pending_start:
                cost = estimate_tokens(dumps(self.log.step(keep - 1)))
                if used + cost > target:
                    break
                used += cost
                keep -= 1
            self._hide(self.pending_start, keep)
            self.pending_start = keep
        self.log.forget_before(self.turns[0].start if self.turns else self.pending_start)

    def messages(self) -> list[dict[str, str]]:
        """The chat request: system, the answered turns, and the steps waiting for an answer."""
        self._fit()
        out = [{"role": "system", "content": SYSTEM_PROMPT}]
        for i, turn in enumerate(self.turns):
            steps = [self.log.step(j) for j in range(turn.start, turn.stop)]
            out.append({"role": "user", "content": self._user_content(steps, self.note if i == 0 else None)})
            out.append({"role": "assistant", "content": turn.answer})
        last: dict[str, object] = {"Instructions": STEP_INSTRUCTIONS}
        if not self.turns and self.note is not None:
            last["Earlier"] = self.note
        last["Observations"] = self.pending
        out.append({"role": "user", "content": dumps(last)})
        return out

    def commit(self, answer_json: str, stop: int | None = None) -> None:
        """The model answered the pending steps up to ``stop`` (those its request carried): they become a turn."""
        start = self.pending_start
        stop = self.log.end if stop is None else min(stop, self.log.end)
        if stop <= start:
            return
        steps = [self.log.step(j) for j in range(start, stop)]
        tokens = estimate_tokens(self._user_content(steps, None)) + estimate_tokens(answer_json)
        self.turns.append(Turn(start=start, stop=stop, answer=answer_json, tokens=tokens))
        self.pending_start = stop


@dataclass
class JudgeWindow:
    """One session's judge prompts: the steps so far (bounded like the transcript) and the task."""

    budget_tokens: int
    keep_after_drop: float = 0.5
    log: StepLog = field(default_factory=StepLog)
    start: int = 0

    def messages(self, history: Sequence[EventBase], task: str | None) -> list[dict[str, str]]:
        if self.log.sync(history) == -1:
            self.start = self.log.dropped
        costs = [estimate_tokens(dumps(self.log.step(i))) for i in range(self.start, self.log.end)]
        total = sum(costs)
        if total > self.budget_tokens:
            target = self.budget_tokens * self.keep_after_drop
            for cost in costs:
                if total <= target:
                    break
                total -= cost
                self.start += 1
            self.log.forget_before(self.start)
        obs = [
            {"time": s["Time"], "event": s["Event"]}
            for s in (self.log.step(i) for i in range(self.start, self.log.end))
        ]
        inst = {"Observations (Time Ascending)": obs, "Proposed Task": task, "Instruction": JUDGE_INSTRUCTION}
        return [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(inst, sort_keys=False, ensure_ascii=False, indent=4)},
        ]
