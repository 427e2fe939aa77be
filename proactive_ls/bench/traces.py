"""ProactiveBench traces: the 12 real test traces, their published splits, and the agents' recorded runs.

A trace file (``test_data/<name>.json`` or ``agent_traces/<model>/<name>.json``) is a list of steps
``{"observation": {"time": "<unix seconds>", "event": "<sentence>"}, "agent_response": ..., ...}``.
Here a trace becomes a replay :class:`~proactive_ls.replay.format.Recording` (one ``event`` action per step,
an :class:`~proactive_ls.events.Observation`), and the helpers below read what the benchmark needs.

Two facts of the data decide how steps are counted (docs/evaluation.md, "ProactiveBench"):

* the published metrics count 227 steps, the test files now hold 233: six steps were added to four
  files, and some sentences rewritten, after the agents were run. :func:`published_steps` keeps the
  steps and sentences the agents saw;
* three traces have steps whose recorded time is earlier than the step before (the recorder's clock
  moved). Steps are always taken in file order; a replay gives such a step its predecessor's time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proactive_ls.inputs import EventInput, Input
from proactive_ls.replay.format import Header, Recording, ReplayFormatError

SPLITS_FILE = "splits.json"
SPLIT_NAMES = ("real_average", "real_coding", "real_writing")
ENV_DATA = "PROACTIVEBENCH_DATA"


@dataclass(frozen=True)
class TraceStep:
    """One step of a trace, in file order."""

    index: int
    time: float
    time_text: str
    event: str
    task_status: bool | None = None  # test_data: whether annotators judged that the user needed help here
    candidate_tasks: tuple[str, ...] = ()  # test_data: the tasks annotators listed as helpful
    agent_response: Any = None  # agent_traces: what the model proposed (a list of 0 or 1 task, or junk)
    other: dict[str, Any] = field(default_factory=dict)  # agent_traces: Purpose / Thoughts / Response

    @property
    def key(self) -> tuple[str, str]:
        return (self.time_text, self.event)

    def observation(self) -> dict[str, str]:
        """The step as the benchmark's judge and reward data see it: ``{"time", "event"}``."""
        return {"time": self.time_text, "event": self.event}


def default_data_dir() -> Path:
    """``$PROACTIVEBENCH_DATA``, else ``../shared/proactivebench`` from the working folder, else beside the checkout."""
    if env := os.environ.get(ENV_DATA):
        return Path(env)
    here = Path("../shared/proactivebench")
    if here.is_dir():
        return here.resolve()
    return Path(__file__).resolve().parents[2].parent / "shared" / "proactivebench"


def check_data_dir(data: Path) -> Path:
    """The folder if it holds the test traces; raises FileNotFoundError with a message fit for the user."""
    if not (data / "test_data" / SPLITS_FILE).is_file():
        raise FileNotFoundError(
            f"no ProactiveBench data at {data} (expected {data / 'test_data' / SPLITS_FILE}); "
            f"pass --data DIR or set ${ENV_DATA}"
        )
    return data


def _parse_time(text: Any, where: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ReplayFormatError(f"{where}: time {text!r} is not unix seconds") from None


def load_trace(path: Path) -> list[TraceStep]:
    """The steps of a trace file (test data or an agent's run)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReplayFormatError(f"{path}: not JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise ReplayFormatError(f"{path}: a ProactiveBench trace is a JSON list of steps")
    steps: list[TraceStep] = []
    for i, raw in enumerate(data):
        obs = raw.get("observation") if isinstance(raw, dict) else None
        if not isinstance(obs, dict) or "event" not in obs or "time" not in obs:
            raise ReplayFormatError(f"{path}: step {i} has no observation {{time, event}}")
        response = raw.get("agent_response")
        candidates: tuple[str, ...] = ()
        if isinstance(response, dict) and isinstance(response.get("candidate_task"), list):
            candidates = tuple(str(t) for t in response["candidate_task"])
        status = raw.get("task_status")
        steps.append(
            TraceStep(
                index=i,
                time=_parse_time(obs["time"], f"{path}: step {i}"),
                time_text=str(obs["time"]),
                event=str(obs["event"]),
                task_status=status if isinstance(status, bool) else None,
                candidate_tasks=candidates,
                agent_response=response,
                other=raw.get("other_infomation") or raw.get("other_information") or {},
            )
        )
    return steps


def trace_as_recording(path: Path) -> Recording:
    """A trace as a replay session: one Observation event per step, at the step's time, in file order."""
    path = Path(path)
    steps = load_trace(path)
    actions: list[Input] = []
    previous = float("-inf")
    for step in steps:
        t = max(step.time, previous)  # a step recorded earlier than its predecessor keeps the order
        previous = t
        actions.append(EventInput(time=t, event={"kind": "observation", "text": step.event}))
    header = Header.model_validate(
        {"description": f"ProactiveBench trace {path.stem} ({len(steps)} steps)", "workspace": ".", "trace": path.stem}
    )
    return Recording(header, actions, path.parent.resolve(), path)


def load_splits(data: Path) -> dict[str, list[str]]:
    """The published splits: split name -> trace names (``code_11``, ...), in the file's order."""
    raw = json.loads((data / "test_data" / SPLITS_FILE).read_text(encoding="utf-8"))
    return {name: [Path(f).stem for f in spec["files"]] for name, spec in raw.items()}


def trace_names(data: Path) -> list[str]:
    """Every trace of the published splits, once, in split order."""
    seen: dict[str, None] = {}
    for names in load_splits(data).values():
        seen.update(dict.fromkeys(names))
    return list(seen)


def agent_models(data: Path) -> list[str]:
    """The models whose runs are recorded in ``agent_traces/`` and cover every test trace."""
    root = data / "agent_traces"
    if not root.is_dir():
        return []
    names = trace_names(data)
    return sorted(d.name for d in root.iterdir() if d.is_dir() and all((d / f"{n}.json").is_file() for n in names))


def agent_trace_path(data: Path, model: str, name: str) -> Path:
    return data / "agent_traces" / model / f"{name}.json"


def published_steps(data: Path, name: str) -> list[TraceStep]:
    """The steps of trace `name` as the published agent runs saw them (227 in all, not 233).

    The test files were revised after the agents ran: six steps were added and some sentences were
    rewritten (typed pinyin and Chinese replaced by English). The agents' runs keep the version that
    was measured, so the steps and sentences come from ``agent_traces/`` (every model's run has the
    same ones) and the annotations (``task_status``, candidate tasks) from the test file, matched by
    the step's time. Without agent runs, every step of the test file is used.
    """
    test = load_trace(data / "test_data" / f"{name}.json")
    models = agent_models(data)
    if not models:
        return test
    # The agents' steps are the test steps minus the added ones, in the same order; times repeat
    # within a trace (writing_11, writing_12), so they are matched in order, not looked up.
    steps: list[TraceStep] = []
    i = 0
    for s in load_trace(agent_trace_path(data, models[0], name)):
        j = i
        while j < len(test) and test[j].time_text != s.time_text:
            j += 1
        annotated = test[j] if j < len(test) else None
        i = j + 1 if annotated is not None else i
        steps.append(
            TraceStep(
                index=s.index,
                time=s.time,
                time_text=s.time_text,
                event=s.event,
                task_status=annotated.task_status if annotated else None,
                candidate_tasks=annotated.candidate_tasks if annotated else (),
            )
        )
    return steps
