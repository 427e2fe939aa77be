"""The engine's policies on recorded time: when it asks, when it stays silent, what it remembers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from proactive_ls.config import parse_settings
from proactive_ls.engine import Engine, UnknownProposal
from proactive_ls.events import Observation
from proactive_ls.feedback.log import FeedbackLog, iter_records
from proactive_ls.proposals import ShowMarkdown, Suggestion, Verdict
from proactive_ls.proposers.base import ProposalContext

T0 = 1_000_000.0


class ScriptedProposer:
    """Suggests the task named in the newest event's text, or nothing for 'quiet'."""

    name = "scripted"

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    async def propose(self, ctx: ProposalContext) -> Suggestion | None:
        self.asked.append([e.sentence() for e in ctx.new_events])
        text = ctx.new_events[-1].sentence()
        if text == "quiet":
            return None
        return Suggestion(task=text, message=f"do {text}?", operation=ShowMarkdown(title=text, markdown=text))

    async def aclose(self) -> None:
        return None


class RejectingJudge:
    name = "no"

    async def judge(self, ctx, suggestion) -> Verdict:
        return Verdict(accept=False, score=0.1, reason="score 0.10 < 0.50", judge=self.name)

    async def aclose(self) -> None:
        return None


def make(tmp_path: Path, **settings) -> tuple[Engine, ScriptedProposer]:
    base = {"quietPeriodMs": 1000, "minIntervalS": 0, "rejectCooldownS": 0, "ignoreAfterS": 100, "maxPerHour": 100}
    proposer = ScriptedProposer()
    engine = Engine(parse_settings({**base, **settings}), proposer, feedback=FeedbackLog(tmp_path / "log.jsonl"))
    return engine, proposer


async def say(engine: Engine, text: str, at: float) -> list:
    engine.observe(Observation(time=at, text=text), at)
    trigger = at + engine.settings.quiet_period_ms / 1000
    proposals = []
    while (deadline := engine.next_deadline()) is not None and deadline <= trigger:
        proposals += (await engine.tick(deadline)).proposals
    return proposals


async def test_asks_only_after_the_quiet_period(tmp_path: Path) -> None:
    engine, proposer = make(tmp_path)
    engine.observe(Observation(time=T0, text="a"), T0)
    engine.observe(Observation(time=T0 + 0.5, text="b"), T0 + 0.5)
    assert (await engine.tick(T0 + 1.2)).proposals == []  # 0.7 s after the last event: not quiet yet
    assert proposer.asked == []
    result = await engine.tick(T0 + 1.5)
    assert [p.task for p in result.proposals] == ["b"]
    assert proposer.asked == [["a", "b"]]  # both new events, asked once


async def test_minimum_interval_and_cap_per_hour(tmp_path: Path) -> None:
    engine, _ = make(tmp_path, minIntervalS=60, maxPerHour=2)
    assert len(await say(engine, "one", T0)) == 1
    assert await say(engine, "two", T0 + 10) == []  # 11 s after the first
    assert engine.last_decision == "blocked: too soon after the last proposal"
    assert len(await say(engine, "three", T0 + 100)) == 1
    assert await say(engine, "four", T0 + 200) == []
    assert engine.last_decision == "blocked: 2 proposals in the last hour"
    assert len(await say(engine, "five", T0 + 3700)) == 1  # the first has aged out of the hour


async def test_rejection_cools_down_and_is_remembered(tmp_path: Path) -> None:
    engine, _ = make(tmp_path, rejectCooldownS=300, rejectMemoryS=3600)
    [p] = await say(engine, "fix it", T0)
    await engine.resolve(p.id, "rejected", T0 + 5)
    assert await say(engine, "other", T0 + 60) == []
    assert engine.last_decision == "blocked: cooling down after a rejection"
    assert await say(engine, "fix it", T0 + 400) == []
    assert engine.last_decision == "suppressed: rejected recently"
    assert [p.task for p in await say(engine, "other", T0 + 500)] == ["other"]
    assert [p.task for p in await say(engine, "fix it", T0 + 3700)] == ["fix it"]  # forgotten after an hour


async def test_pending_tasks_are_not_repeated_and_unanswered_ones_are_ignored(tmp_path: Path) -> None:
    engine, _ = make(tmp_path, ignoreAfterS=30)
    [p] = await say(engine, "fix it", T0)
    assert await say(engine, "fix it", T0 + 10) == []
    assert engine.last_decision == "suppressed: already pending"
    assert engine.next_deadline() == p.created_at + 30
    result = await engine.tick(p.created_at + 30)
    assert [(q.id, o) for q, o in result.resolved] == [(p.id, "ignored")]
    with pytest.raises(UnknownProposal):
        await engine.resolve(p.id, "accepted", T0 + 50)
    [record] = list(iter_records(tmp_path / "log.jsonl"))
    assert (record.outcome, record.proposal_id, record.decided_at) == ("ignored", p.id, p.created_at + 30)


async def test_silence_and_snooze(tmp_path: Path) -> None:
    engine, _ = make(tmp_path)
    assert await say(engine, "quiet", T0) == []
    assert engine.last_decision == "silent"
    [p] = await say(engine, "fix it", T0 + 10)
    snoozed = await engine.snooze(10, T0 + 11)
    assert [q.id for q in snoozed] == [p.id]
    assert await say(engine, "other", T0 + 100) == []
    assert engine.last_decision == "blocked: snoozed"
    assert engine.status(T0 + 100)["snoozedUntil"] == T0 + 11 + 600
    assert len(await say(engine, "later", T0 + 700)) == 1
    assert [r.outcome for r in iter_records(tmp_path / "log.jsonl")] == ["snoozed"]


async def test_a_judge_filters_and_the_filtered_proposal_is_logged(tmp_path: Path) -> None:
    engine, _ = make(tmp_path)
    engine.judge = RejectingJudge()
    assert await say(engine, "fix it", T0) == []
    [record] = list(iter_records(tmp_path / "log.jsonl"))
    assert (record.outcome, record.judge, record.judge_score, record.detail) == (
        "filtered",
        "no",
        0.1,
        "score 0.10 < 0.50",
    )
    assert engine.pending() == []


async def test_newer_events_cancel_a_stale_request(tmp_path: Path) -> None:
    import asyncio

    started = asyncio.Event()

    class SlowProposer(ScriptedProposer):
        async def propose(self, ctx):
            started.set()
            await asyncio.sleep(10)
            return await super().propose(ctx)

    engine, _ = make(tmp_path)
    engine.proposer = SlowProposer()
    engine.observe(Observation(time=T0, text="a"), T0)
    tick = asyncio.ensure_future(engine.tick(T0 + 1))
    await started.wait()
    engine.observe(Observation(time=T0 + 1.1, text="b"), T0 + 1.1)
    result = await asyncio.wait_for(tick, 2)
    assert result.proposals == [] and engine.last_decision == "stale: newer events arrived"
    assert engine.next_deadline() == pytest.approx(T0 + 2.1)


async def test_a_blocked_trigger_is_kept_and_asked_when_the_block_lifts(tmp_path: Path) -> None:
    """No trigger lost: events a pacing rule blocked are asked about once it lifts, not dropped."""
    engine, proposer = make(tmp_path, rejectCooldownS=30, minIntervalS=0)
    [p] = await say(engine, "fix it", T0)
    await engine.resolve(p.id, "rejected", T0 + 1)
    assert await say(engine, "other", T0 + 2) == []
    assert engine.last_decision == "blocked: cooling down after a rejection"
    assert engine.next_deadline() == T0 + 1 + 30  # re-armed for the end of the cooldown
    result = await engine.tick(T0 + 31)
    assert [q.task for q in result.proposals] == ["other"]
    assert proposer.asked[-1] == ["other"]


async def test_a_stale_question_keeps_its_events_for_the_next_one(tmp_path: Path) -> None:
    engine, proposer = make(tmp_path)
    gate = asyncio.Event()
    original = proposer.propose

    async def slow(ctx):  # type: ignore[no-untyped-def]
        await gate.wait()
        return await original(ctx)

    proposer.propose = slow  # type: ignore[method-assign]
    engine.observe(Observation(time=T0, text="a"), T0)
    asking = asyncio.ensure_future(engine.tick(T0 + 1))
    await asyncio.sleep(0)
    engine.observe(Observation(time=T0 + 1.1, text="b"), T0 + 1.1)  # cancels the question about "a"
    assert (await asking).proposals == []
    assert engine.last_decision == "stale: newer events arrived"
    proposer.propose = original  # type: ignore[method-assign]
    result = await engine.tick(T0 + 3)
    assert [q.task for q in result.proposals] == ["b"]
    assert proposer.asked[-1] == ["a", "b"]


async def test_the_hour_cap_lifts_at_the_time_it_names_despite_float_rounding(tmp_path: Path) -> None:
    """At t0 = 1001.4, (t0 + 3600) - t0 < 3600 in floats: the cap used to say it lifts at t0 + 3600
    and, asked then, still block, so a virtual clock re-armed the trigger at that same time forever."""
    t0 = 1001.4
    assert (t0 + 3600) - t0 < 3600  # the rounding this test is about
    engine, proposer = make(tmp_path, maxPerHour=1)
    [p] = await say(engine, "first", t0 - 1)
    await engine.resolve(p.id, "accepted", t0)
    assert await say(engine, "second", t0 + 10) == []
    assert engine.next_deadline() == (t0 - 1 + 1) + 3600  # re-armed for the end of the cap
    ticks = 0
    proposals = []
    while (deadline := engine.next_deadline()) is not None and deadline <= t0 + 3600 and ticks < 10:
        proposals += (await engine.tick(deadline)).proposals
        ticks += 1
    assert [q.task for q in proposals] == ["second"]
    assert ticks == 1


async def test_an_answer_given_while_a_tick_writes_another_outcome_is_not_overwritten(tmp_path: Path) -> None:
    engine, _ = make(tmp_path, ignoreAfterS=30)
    [first] = await say(engine, "fix a", T0)
    [second] = await say(engine, "fix b", T0 + 5)
    # Both are unanswered past their time: the tick writes the first one's "ignored" (a thread does the
    # write) and, while it waits for it, the user accepts the second one.
    tick = asyncio.create_task(engine.tick(second.created_at + 30))
    await asyncio.sleep(0)  # the tick runs up to its first write
    await engine.resolve(second.id, "accepted", second.created_at + 30)
    result = await tick
    assert [(q.id, o) for q, o in result.resolved] == [(first.id, "ignored")]
    records = [(r.proposal_id, r.outcome) for r in iter_records(tmp_path / "log.jsonl")]
    assert sorted(records) == sorted([(first.id, "ignored"), (second.id, "accepted")])
