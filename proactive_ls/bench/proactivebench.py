"""`proactive-ls bench proactivebench`: the paper's protocol on its 12 real test traces.

Protocol (thunlp/ProactiveAgent, eval/): at every step of a trace the proposer sees the history up
to that step and proposes one task or stays silent; a judge, standing in for the user, accepts or
rejects what it did. A proposal the judge accepts is a TP, one it rejects an FP; a silence the judge
accepts is a TN, one it rejects (help was wanted) an FN. Per published split (real_average,
real_coding, real_writing): Recall = TP/(TP+FN), Precision = TP/(TP+FP), Accuracy = (TP+TN)/steps,
False-Alarm = FP/(TP+FP), F1 from precision and recall. The steps are the 227 the published runs saw
(:func:`proactive_ls.bench.traces.published_steps`).

Two roles are kept apart, because they answer different questions:

* the **judge** plays the user and produces the metric. ``gate`` asks our gate whether the user is
  more likely than not to accept (score >= 0.5); ``labels`` uses the test files' human annotation of
  whether the user needed help at that step (accept a proposal iff help was needed, a silence iff it
  was not; it ignores what the task says); ``vllm`` asks a served reward model with the paper's judge
  prompt.
* the **filter** is the product: the gate at the user's eagerness bar, deciding whether a proposal
  is shown at all. Every run reports the proposals *as proposed* and *gate-filtered* (a proposal
  kept only if the filter gate accepts it, else silence), and, as the filter's baseline, the
  expected metrics of a *random filter* that keeps the same share of proposals blindly.

Under the ``gate`` judge the filtered numbers are partly circular: a kept proposal was already
scored by the same model, so it is rarely an FP by construction. Read the filter's effect under
``labels`` (or a reward model), which the gate never saw.
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from proactive_ls.bench.traces import (
    SPLIT_NAMES,
    TraceStep,
    agent_models,
    agent_trace_path,
    check_data_dir,
    default_data_dir,
    load_splits,
    load_trace,
    published_steps,
    trace_names,
)
from proactive_ls.config import ModelEndpoint, Settings, SettingsError, parse_settings
from proactive_ls.events import Observation
from proactive_ls.llm.schema import ModelAnswer
from proactive_ls.proposers.base import ProposalContext

JUDGE_THRESHOLD = 0.5  # the gate as a judge: "more likely accepted than not"
VARIANTS = ("as_proposed", "gate_filtered", "random_filter")


class BenchError(ValueError):
    """A bad option or missing input, with a message fit for the user (exit code 2)."""


# -- what is judged -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposed:
    task: str | None
    fault: bool = False  # the proposer could not answer (a remote error): the step counts as silence


@dataclass(frozen=True)
class Judgement:
    accept: bool
    score: float | None = None


class MetricJudge(Protocol):
    name: str

    async def judge(self, steps: Sequence[TraceStep], task: str | None) -> Judgement: ...

    async def aclose(self) -> None: ...


def observations(steps: Sequence[TraceStep]) -> list[dict[str, str]]:
    """The history as the benchmark's reward data has it: ``[{"time", "event"}, ...]``."""
    return [s.observation() for s in steps]


class GateMetricJudge:
    """The gate as the user's stand-in: accept when the probability of acceptance is at least 0.5."""

    def __init__(self, gate: Any, threshold: float = JUDGE_THRESHOLD, name: str = "gate") -> None:
        self.gate = gate
        self.threshold = threshold
        self.name = name

    async def judge(self, steps: Sequence[TraceStep], task: str | None) -> Judgement:
        score = self.gate.score(observations(steps), task)
        return Judgement(score >= self.threshold, score)

    async def aclose(self) -> None:
        return None


class LabelJudge:
    """The test files' human annotation (``task_status``): did the user need help at this step?"""

    name = "labels"

    async def judge(self, steps: Sequence[TraceStep], task: str | None) -> Judgement:
        needed = steps[-1].task_status
        if needed is None:
            raise BenchError(f"step {steps[-1].index} ({steps[-1].time_text}) has no annotation in test_data")
        return Judgement(needed if task is not None else not needed)

    async def aclose(self) -> None:
        return None


class RewardModelJudge:
    """A served reward model, asked with ProactiveBench's judge prompt (eval/reward_model_template.py)."""

    name = "vllm"

    def __init__(
        self, endpoint: ModelEndpoint, limit: asyncio.Semaphore, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        from proactive_ls.llm.client import ModelClient
        from proactive_ls.llm.schema import judge_schema, response_format

        self.endpoint = endpoint
        self.limit = limit
        self.client = ModelClient(endpoint, transport=transport)
        self._format = response_format("proactive_judgement", judge_schema(endpoint.max_tokens))

    async def judge(self, steps: Sequence[TraceStep], task: str | None) -> Judgement:
        from proactive_ls.llm.prompt import JUDGE_INSTRUCTION, JUDGE_SYSTEM_PROMPT
        from proactive_ls.llm.schema import parse_judgement

        inst = {
            "Observations (Time Ascending)": observations(steps),
            "Proposed Task": task,
            "Instruction": JUDGE_INSTRUCTION,
        }
        messages = [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps(inst, sort_keys=False, ensure_ascii=False, indent=4)},
        ]
        async with self.limit:
            answer, _ = await self.client.chat_parsed(messages, parse_judgement, response_format=self._format)
        return Judgement(answer.accepted)

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class FilterGate:
    """The product's gate: a proposal is shown only if its score reaches the eagerness bar."""

    gate: Any
    threshold: float

    def score(self, steps: Sequence[TraceStep], task: str) -> float:
        return float(self.gate.score(observations(steps), task))


# -- proposers ------------------------------------------------------------------------------------


def _events(steps: Sequence[TraceStep]) -> list[Observation]:
    return [Observation(time=s.time, text=s.event) for s in steps]


async def propose_local(steps: Sequence[TraceStep]) -> list[Proposed]:
    """The embedded proposer, asked at every step (it reads structured events, so it stays silent on sentences)."""
    from proactive_ls.proposers.local import LocalProposer

    proposer = LocalProposer()
    out: list[Proposed] = []
    events = _events(steps)
    for i in range(len(steps)):
        ctx = ProposalContext(events[: i + 1], [events[i]], steps[i].time)
        suggestion = await proposer.propose(ctx)
        out.append(Proposed(suggestion.task if suggestion else None))
    return out


async def propose_vllm(
    steps: Sequence[TraceStep],
    endpoint: ModelEndpoint,
    limit: asyncio.Semaphore,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Proposed]:
    """A served model, one conversation per trace as in the paper's runs; a failed request is a fault."""
    from proactive_ls.proposers.local import LocalProposer
    from proactive_ls.proposers.vllm import VllmProposer

    silent = LocalProposer(rules=[])
    proposer = VllmProposer(endpoint, fallback=silent, transport=transport)
    out: list[Proposed] = []
    events = _events(steps)
    try:
        for i in range(len(steps)):
            ctx = ProposalContext(events[: i + 1], [events[i]], steps[i].time)
            faults = proposer.stats.faults
            async with limit:
                suggestion = await proposer.propose(ctx)
            out.append(Proposed(suggestion.task if suggestion else None, fault=proposer.stats.faults > faults))
    finally:
        await proposer.aclose()
    return out


def recorded_task(response: Any) -> str | None:
    """The task an agent recorded at a step: its ``agent_response`` list's first entry, ``"null"`` as silence.

    A step whose request failed in the original run kept the test file's ``{"candidate_task": [...]}``
    instead of a list (21 steps over all models): the agent showed nothing there, so it is silence.
    """
    if not isinstance(response, list) or not response or response[0] is None:
        return None
    first = response[0]
    if not isinstance(
        first, str
    ):  # a few models answered with an object (a tool call): shown as JSON, as the paper's judge saw it
        first = json.dumps(first, ensure_ascii=False)
    return ModelAnswer.model_validate({"Proactive Task": first}).proactive_task


def propose_recorded(data: Path, model: str, name: str, steps: Sequence[TraceStep]) -> list[Proposed]:
    """The model's recorded answer at each step (its run has the benchmark's steps, in order)."""
    recorded = load_trace(agent_trace_path(data, model, name))
    if [r.key for r in recorded] != [s.key for s in steps]:
        raise BenchError(f"agent_traces/{model}/{name}.json does not have the benchmark's steps")
    return [Proposed(recorded_task(r.agent_response)) for r in recorded]


# -- metrics --------------------------------------------------------------------------------------


@dataclass
class Counts:
    tp: float = 0
    fp: float = 0
    tn: float = 0
    fn: float = 0
    faults: int = 0

    def randomly_filtered(self, keep: float) -> Counts:
        """The expected counts if each proposal were kept with probability `keep`, else silenced.

        The baseline for a filter: one that keeps the same share of proposals without looking at
        them keeps precision as it is and loses recall in proportion.
        """
        dropped_tp, dropped_fp = (1 - keep) * self.tp, (1 - keep) * self.fp
        return Counts(
            self.tp - dropped_tp, self.fp - dropped_fp, self.tn + dropped_fp, self.fn + dropped_tp, self.faults
        )

    def add(self, outcome: str) -> None:
        setattr(self, outcome.lower(), getattr(self, outcome.lower()) + 1)

    def metrics(self) -> dict[str, Any]:
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        steps = tp + fp + tn + fn

        def ratio(a: float, b: float) -> float:
            return a / b if b else 0.0

        def count(x: float) -> float | int:
            return int(x) if float(x).is_integer() else round(x, 2)

        recall, precision = ratio(tp, tp + fn), ratio(tp, tp + fp)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "steps": count(steps),
            "proposals": count(tp + fp),
            "proposal_rate": round(ratio(tp + fp, steps), 4),
            "tp": count(tp),
            "fp": count(fp),
            "tn": count(tn),
            "fn": count(fn),
            "recall": round(recall, 4),
            "precision": round(precision, 4),
            "accuracy": round(ratio(tp + tn, steps), 4),
            "false_alarm": round(ratio(fp, tp + fp), 4),
            "f1": round(f1, 4),
            "proposer_faults": self.faults,
        }


def outcome_of(task: str | None, accepted: bool) -> str:
    if task is not None:
        return "TP" if accepted else "FP"
    return "TN" if accepted else "FN"


@dataclass
class StepRow:
    proposer: str
    variant: str
    trace: str
    step: int
    time: str
    event: str
    help_needed: bool | None
    task: str | None
    proposed_task: str | None
    filter_score: float | None
    judge: str
    accepted: bool
    judge_score: float | None
    outcome: str
    proposer_fault: bool


@dataclass
class BenchResult:
    data: str
    judge: str
    filter: dict[str, Any]
    splits: dict[str, list[str]]
    steps: int
    rows: list[StepRow] = field(default_factory=list)

    def metrics(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        """proposer -> variant -> split -> metrics."""
        out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        counts: dict[tuple[str, str, str], Counts] = {}
        for row in self.rows:
            for split, names in self.splits.items():
                if row.trace in names:
                    c = counts.setdefault((row.proposer, row.variant, split), Counts())
                    c.add(row.outcome)
                    c.faults += row.proposer_fault
        for (proposer, variant, split), c in list(counts.items()):
            out.setdefault(proposer, {}).setdefault(variant, {})[split] = c.metrics()
            if variant == "as_proposed" and (gated := counts.get((proposer, "gate_filtered", split))) is not None:
                proposals = c.tp + c.fp
                keep = (gated.tp + gated.fp) / proposals if proposals else 1.0
                out[proposer].setdefault("random_filter", {})[split] = c.randomly_filtered(keep).metrics()
        for proposer in out:  # stable order: variants, then the published splits
            out[proposer] = {
                v: {s: out[proposer][v][s] for s in self.splits if s in out[proposer][v]}
                for v in VARIANTS
                if v in out[proposer]
            }
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": "ProactiveBench (ICLR 2025) agent metrics, per step; see docs/evaluation.md",
            "data": self.data,
            "steps": self.steps,
            "judge": self.judge,
            "filter": self.filter,
            "results": self.metrics(),
        }


# -- running --------------------------------------------------------------------------------------


def parse_proposers(spec: str, data: Path) -> list[str]:
    if spec in ("local", "vllm"):
        return [spec]
    if spec.startswith("trace:"):
        model = spec.split(":", 1)[1]
        models = agent_models(data)
        if model == "all":
            if not models:
                raise BenchError(f"no agent runs in {data / 'agent_traces'}")
            return [f"trace:{m}" for m in models]
        if model not in models:
            known = ", ".join(models) or "none"
            raise BenchError(f"no recorded run of {model!r} in {data / 'agent_traces'} (known: {known})")
        return [spec]
    raise BenchError(f"unknown proposer {spec!r}: expected local, vllm, trace:<model> or trace:all")


def load_gate(path: Path | None) -> Any:
    from proactive_ls.judges.gate import Gate

    try:
        return Gate.load(path)
    except FileNotFoundError:
        raise BenchError(f"the gate model is missing ({path or 'the packaged gate_model.json'})") from None
    except ValueError as exc:
        raise BenchError(str(exc)) from None


def build_judge(
    spec: str, settings: Settings, limit: asyncio.Semaphore, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[MetricJudge, Path | None]:
    """The judge for `spec`, and the gate file it names (``gate:PATH``) for the filter to use too."""
    if spec == "gate":
        return GateMetricJudge(load_gate(None)), None
    if spec.startswith("gate:"):
        path = Path(spec.split(":", 1)[1]).expanduser()
        return GateMetricJudge(load_gate(path), name=f"gate:{path}"), path
    if spec == "labels":
        return LabelJudge(), None
    if spec == "vllm":
        endpoint = settings.judge_model or settings.model
        if endpoint is None:
            raise BenchError('judge "vllm" needs a settings file with "judgeModel" (or "model")')
        return RewardModelJudge(endpoint, limit, transport), None
    raise BenchError(f"unknown judge {spec!r}: expected gate, gate:<file>, labels or vllm")


async def run_bench(
    data: Path,
    proposer: str,
    judge: str,
    settings: Settings,
    concurrency: int = 4,
    transport: httpx.AsyncBaseTransport | None = None,
    on_step: Any = None,
) -> BenchResult:
    """Run the protocol; `on_step()` is called once per (proposer, step) judged, for a progress bar."""
    from proactive_ls.judges.gate import threshold_for

    check_data_dir(data)
    if concurrency < 1:
        raise BenchError("--concurrency must be at least 1")
    proposers = parse_proposers(proposer, data)
    limit = asyncio.Semaphore(concurrency)
    metric_judge, gate_path = build_judge(judge, settings, limit, transport)
    filt = FilterGate(load_gate(gate_path), threshold_for(settings.eagerness, settings.gate_threshold))
    splits = {k: v for k, v in load_splits(data).items() if k in SPLIT_NAMES} or load_splits(data)
    names = trace_names(data)
    traces = {n: published_steps(data, n) for n in names}
    result = BenchResult(
        data=str(data),
        judge=metric_judge.name,
        filter={
            "gate": getattr(filt.gate, "version", "?"),
            "threshold": filt.threshold,
            "eagerness": settings.eagerness,
        },
        splits=splits,
        steps=sum(len(s) for s in traces.values()),
    )
    if proposer == "vllm" and settings.model is None:
        raise BenchError('proposer "vllm" needs a settings file with a "model" entry')

    async def one_trace(spec: str, name: str) -> list[StepRow]:
        steps = traces[name]
        if spec == "local":
            proposed = await propose_local(steps)
        elif spec == "vllm":
            assert settings.model is not None
            proposed = await propose_vllm(steps, settings.model, limit, transport)
        else:
            proposed = propose_recorded(data, spec.split(":", 1)[1], name, steps)
        cache: dict[str | None, Judgement] = {}
        rows: list[StepRow] = []
        for i, (step, p) in enumerate(zip(steps, proposed, strict=True)):
            history = steps[: i + 1]
            cache.clear()
            filter_score = filt.score(history, p.task) if p.task is not None else None
            kept = p.task if filter_score is not None and filter_score >= filt.threshold else None
            for variant, task in (("as_proposed", p.task), ("gate_filtered", kept)):
                if task not in cache:
                    cache[task] = await metric_judge.judge(history, task)
                j = cache[task]
                rows.append(
                    StepRow(
                        proposer=spec,
                        variant=variant,
                        trace=name,
                        step=step.index,
                        time=step.time_text,
                        event=step.event,
                        help_needed=step.task_status,
                        task=task,
                        proposed_task=p.task,
                        filter_score=None if filter_score is None else round(filter_score, 4),
                        judge=metric_judge.name,
                        accepted=j.accept,
                        judge_score=None if j.score is None else round(j.score, 4),
                        outcome=outcome_of(task, j.accept),
                        proposer_fault=p.fault,
                    )
                )
            if on_step is not None:
                on_step()
        return rows

    try:
        jobs = [one_trace(spec, name) for spec in proposers for name in names]
        for rows in await asyncio.gather(*jobs):
            result.rows.extend(rows)
    finally:
        await metric_judge.aclose()
    return result


# -- output ---------------------------------------------------------------------------------------


def _out_paths(out: Path) -> tuple[Path, Path]:
    base = out.with_suffix("") if out.suffix in (".csv", ".json") else out
    return base.with_name(base.name + ".csv"), base.with_name(base.name + ".json")


def write_outputs(result: BenchResult, out: Path) -> tuple[Path, Path]:
    csv_path, json_path = _out_paths(out)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        names = list(StepRow.__dataclass_fields__)
        writer = csv.DictWriter(f, fieldnames=names)
        writer.writeheader()
        for row in result.rows:
            writer.writerow(asdict(row))
    json_path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    return csv_path, json_path


def render_table(result: BenchResult) -> Any:
    from rich.table import Table

    table = Table(
        title=(
            f"ProactiveBench, {result.steps} steps, judge: {result.judge}; "
            f"filter: gate >= {result.filter['threshold']:.2f}"
        )
    )
    for col in (
        "Proposer",
        "Variant",
        "Split",
        "Proposals",
        "TP",
        "FP",
        "TN",
        "FN",
        "Recall",
        "Precision",
        "Accuracy",
        "False-Alarm",
        "F1",
    ):
        table.add_column(col, justify="left" if col in ("Proposer", "Variant", "Split") else "right")
    for proposer, variants in result.metrics().items():
        for variant, splits in variants.items():
            for split, m in splits.items():
                table.add_row(
                    proposer,
                    variant.replace("_", " "),
                    split,
                    f"{m['proposals']}/{m['steps']}",
                    str(m["tp"]),
                    str(m["fp"]),
                    str(m["tn"]),
                    str(m["fn"]),
                    f"{m['recall']:.2%}",
                    f"{m['precision']:.2%}",
                    f"{m['accuracy']:.2%}",
                    f"{m['false_alarm']:.2%}",
                    f"{m['f1']:.2%}",
                )
            table.add_section()
    return table


def _read_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchError(f"cannot read the settings file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path}: not JSON: {exc.msg}") from None
    try:
        return parse_settings(raw)
    except SettingsError as exc:
        raise BenchError(f"{path}: {exc}") from None


def main_bench_proactivebench(
    data: Path | None,
    proposer: str,
    judge: str,
    settings: Path | None,
    out: Path | None,
    concurrency: int,
    json_out: bool,
) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    folder = data or default_data_dir()
    try:
        check_data_dir(folder)
        cfg = _read_settings(settings)
        total = len(parse_proposers(proposer, folder)) * sum(
            len(published_steps(folder, n)) for n in trace_names(folder)
        )
    except (BenchError, FileNotFoundError) as exc:
        print(f"proactive-ls bench proactivebench: {exc}", file=sys.stderr)
        return 2
    progress = Progress(
        TextColumn("[bold]ProactiveBench[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with progress:
        bar = progress.add_task(f"{proposer}, judge {judge}", total=total)
        try:
            result = asyncio.run(
                run_bench(folder, proposer, judge, cfg, concurrency, on_step=lambda: progress.advance(bar))
            )
        except (BenchError, FileNotFoundError) as exc:
            progress.stop()
            print(f"proactive-ls bench proactivebench: {exc}", file=sys.stderr)
            return 2
        except Exception as exc:  # a remote judge or proposer that kept failing
            progress.stop()
            print(f"proactive-ls bench proactivebench: failed: {exc.__class__.__name__}: {exc}", file=sys.stderr)
            return 1
    faults = sum(r.proposer_fault for r in result.rows if r.variant == "as_proposed")
    if faults:
        err.print(
            f"[yellow]warning:[/yellow] the proposer failed on {faults} steps; "
            "they count as silences (see proposer_faults)"
        )
    if out is not None:
        csv_path, json_path = write_outputs(result, out)
        err.print(f"wrote {csv_path} and {json_path}")
    if json_out:
        print(json.dumps(result.to_json(), indent=2))
    else:
        Console().print(render_table(result))
    return 0


__all__ = [
    "main_bench_proactivebench",
    "run_bench",
    "BenchResult",
    "Counts",
    "GateMetricJudge",
    "LabelJudge",
    "RewardModelJudge",
    "FilterGate",
    "recorded_task",
    "outcome_of",
]
