"""Retraining end to end on the CPU: feedback log -> `proactive-ls finetune` (TRL, LoRA) -> the real vLLM
server loads the adapters with --enable-lora -> the real proactive-ls server proposes with them.

The trainer runs in its own cached environment (scripts/trainer-env.sh); these tests are skipped, with
the reason, only where it cannot be installed. The base is the tiny model of scripts/make-tiny-model.py,
made with a wider output layer (--head-std 0.1) and adapted on the embeddings as well as the projections
(--lora-targets): a random 1M-parameter model leaves an adapter on the projections alone too little
room to change a greedy answer (measured: loss stuck near 5). The logs are built so that what is learnt
is one answer (tests/finetune_logs.py): empty Purpose and Thoughts, the accepted task as the task
(and as the Response, as the server logs an answer without one). Under the server's structured output
the keys are forced, so what the adapter decides is the strings' text; with each value in one place
it never has to count which field it is in (the old log repeated the task in all four, and an
adapter at loss 0.2 lost count: docs/training.md has the diagnosis).

Not here: the judge end to end. The tiny judge learns the answer's shape but not to tell two kinds
apart in 60-120 steps (held-out accuracy 0.6 → 0.6 on two tasks, 0.5 → 0.5 on test vs build failures
with the server's event texts, measured; docs/training.md), so a test of its filtering would fail for
the tiny model's sake. The judge's training set is checked in tests/test_finetune_data.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from proactive_ls.lsp import protocol
from tests.finetune_logs import ACCEPTED_TASK, write_log
from tests.lsp_client import ProactiveClient, eventually, read_log, start_session

from .conftest import MEASUREMENTS, REPO, SCRIPTS, VllmServer

BASE_NAME = "tiny-base"
TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj,embed_tokens"
TRAIN = ["--learning-rate", "1e-2", "--rank", "16", "--lora-targets", TARGETS]


@pytest.fixture(scope="module")
def trainer_python() -> Path:
    given = os.environ.get("PROACTIVE_LS_TRAINER_PYTHON")
    if given is not None:
        if not given:
            pytest.skip("scripts/test could not install the trainer environment (scripts/trainer-env.sh)")
        return Path(given)
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "trainer-env.sh")],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=1800,
    )
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stderr.splitlines() if "is ignored" not in line)[-1500:]
        pytest.skip(f"the trainer cannot be installed here (scripts/trainer-env.sh exited {proc.returncode}):\n{tail}")
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def base_model(vllm_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ft-base")
    proc = subprocess.run(
        [str(vllm_python), str(SCRIPTS / "make-tiny-model.py"), str(out), "--head-std", "0.1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def finetune(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # One thread: on a shared 2-core machine two OpenMP threads fight the other processes (16 steps: 138 s
    # with two, 26 s with one, the same adapter bit for bit; docs/training.md).
    env = dict(
        os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1"
    )
    started = time.monotonic()
    proc = subprocess.run(
        [str(python), "-m", "proactive_ls", "finetune", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    MEASUREMENTS[f"finetune {args[0]} {'dpo' if 'dpo' in args else 'sft'}"] = f"{time.monotonic() - started:.1f} s"
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


@pytest.fixture(scope="module")
def adapters(trainer_python: Path, base_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The proposer (trained on the accepted task) and a DPO adapter (on the preference pairs)."""
    root = tmp_path_factory.mktemp("ft")
    out = {name: root / name for name in ("ft-proposer", "ft-dpo")}

    def run(model: str, name: str, log: Path, steps: int, batch: int, *extra: str) -> str:
        args = ["--base", str(base_model), "--out", str(out[name]), "--feedback-log", str(log)]
        proc = finetune(trainer_python, model, *args, "--steps", str(steps), "--batch-size", str(batch), *TRAIN, *extra)
        return proc.stdout

    run("proposer", "ft-proposer", write_log(root / "accepted.jsonl", 10), 40, 2)
    printed = run("proposer", "ft-dpo", write_log(root / "pairs.jsonl", 6, rejected=True), 4, 2, "--method", "dpo")
    assert f"--lora ft-dpo={out['ft-dpo']}" in printed  # the serve line is printed
    return out


@pytest.fixture(scope="module")
def served(vllm_python: Path, base_model: Path, adapters: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    server = VllmServer(
        vllm_python,
        base_model,
        tmp_path_factory.mktemp("ft-vllm") / "server.log",
        name=BASE_NAME,
        adapters=adapters,
        max_lora_rank=16,
    )
    MEASUREMENTS["finetune: vLLM start with the trained adapters"] = f"{server.start():.1f} s"
    yield server
    server.stop()


def _card(adapter: Path) -> dict[str, Any]:
    return json.loads((adapter / "training.json").read_text())


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "tests" / "test_calc.py").write_text("from calc import add\n\ndef test_add():\n    assert add(1, 1) == 2\n")
    return root


def _settings(server: VllmServer, proposer: str, judge: str | None = None) -> dict[str, Any]:
    def endpoint(name: str) -> dict[str, Any]:
        return {"url": server.url, "name": name, "timeoutS": 120, "maxTokens": 256, "historyTokenBudget": 1500}

    settings: dict[str, Any] = {"backend": "vllm", "model": endpoint(proposer), "judge": "none"}
    if judge:
        settings |= {"judge": "vllm", "judgeModel": endpoint(judge)}
    return settings


async def _first_decision(server: VllmServer, tmp_path: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """Open calc.py, fail a test in the terminal; the first proposal shown, or the first filtered record."""
    root = _project(tmp_path)
    log = tmp_path / "feedback.jsonl"
    client: ProactiveClient = await start_session(root, log, settings=settings)
    try:
        path = root / "calc.py"
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=path.as_uri(), language_id="python", version=1, text=path.read_text()
                )
            )
        )
        client.protocol.notify(
            protocol.TERMINAL_COMMAND,
            {
                "commandLine": "python -m pytest",
                "cwd": str(root),
                "exitCode": 1,
                "durationMs": 300,
                "output": "FAILED tests/test_calc.py::test_add - assert 0 == 2\n1 failed in 0.01s\n",
            },
        )

        def decided() -> dict[str, Any] | None:
            if client.proposals:
                return {"shown": True, **client.proposals[0]}
            filtered = next((r for r in read_log(log) if r["outcome"] == "filtered"), None)
            return {"shown": False, **filtered} if filtered else None

        return await eventually(decided, timeout=120)
    finally:
        await client.shutdown_session()


@pytest.fixture(scope="module")
def proposals(served: VllmServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The first decision of the real server with the base model and with the proposer adapter (asked
    once for the two tests below, each session on its own event loop)."""
    root = tmp_path_factory.mktemp("ft-proposals")
    base = asyncio.run(_first_decision(served, root / "base", _settings(served, BASE_NAME)))
    tuned = asyncio.run(_first_decision(served, root / "tuned", _settings(served, "ft-proposer")))
    MEASUREMENTS["finetune: proposals (base, adapter)"] = f"{base['task']!r}, {tuned['task']!r}"
    return {"base": base, "tuned": tuned}


def test_finetuned_proposer_trains_is_served_and_changes_the_proposal(
    adapters: dict[str, Path], proposals: dict[str, dict[str, Any]]
) -> None:
    card = _card(adapters["ft-proposer"])
    loss = card["training_loss"]
    assert loss["last"] < loss["first"] / 4, loss  # the training loss falls
    assert card["held_out_after"]["held_out_loss"] < card["held_out_before"]["held_out_loss"]
    assert card["held_out_after"]["held_out_pair_accuracy"] == 1.0
    assert (adapters["ft-proposer"] / "README.md").read_text().count("--lora ft-proposer=") == 1

    base, tuned = proposals["base"], proposals["tuned"]
    assert base["shown"] and tuned["shown"]
    assert tuned["model"] == "ft-proposer" and base["model"] == BASE_NAME  # the server asked the adapter
    assert base["task"] != ACCEPTED_TASK
    assert tuned["task"] != base["task"]  # serving the adapter changes the proposal


@pytest.mark.xfail(
    reason="not met (issue 11): the tiny random base's adapter does not reliably write the accepted task "
    "under structured output. On 2 December 2026 three bases (--seed 0/1/2) of one commit answered "
    "'Proactive Task...mb.py', 'Responseă calc.py', 'Thoughts{' through the adapter: key names where the "
    "value goes (docs/training.md). Kept so that a recipe which works shows up as XPASS.",
    strict=False,
)
def test_finetuned_proposer_proposes_the_accepted_task(proposals: dict[str, dict[str, Any]]) -> None:
    assert proposals["tuned"]["task"] == ACCEPTED_TASK


def test_dpo_writes_an_adapter_vllm_loads(
    served: VllmServer, adapters: dict[str, Path], trainer_python: Path, base_model: Path
) -> None:
    """vLLM serves the DPO adapter as PEFT computes it: the first answer token's log-probabilities through
    vLLM are PEFT's with the adapter on, not the base's (whether the tiny model's answer after 4 DPO
    steps is a short valid JSON is the random model's luck, not the adapter's loading)."""
    import httpx

    from proactive_ls.feedback.export import prompt_messages
    from proactive_ls.llm.schema import answer_schema, response_format
    from tests.finetune_logs import history

    card = _card(adapters["ft-dpo"])
    assert card["method"] == "dpo" and card["data"]["train"] > 0 and card["steps"] == 4
    assert (adapters["ft-dpo"] / "adapter_model.safetensors").is_file()
    models = {m["id"] for m in httpx.get(f"{served.url}/models", timeout=10).json()["data"]}
    assert "ft-dpo" in models  # vLLM loaded it at start (--lora ft-dpo=...)
    messages = prompt_messages(history(50))

    def ask(**extra: Any) -> dict[str, Any]:
        body = {"model": "ft-dpo", "messages": messages, "temperature": 0, **extra}
        reply = httpx.post(f"{served.url}/chat/completions", json=body, timeout=120)
        assert reply.status_code == 200, reply.text
        return reply.json()["choices"][0]  # type: ignore[no-any-return]

    first = ask(max_tokens=1, logprobs=True, top_logprobs=5, return_tokens_as_token_ids=True)
    served_top = {
        t["token"].removeprefix("token_id:"): t["logprob"] for t in first["logprobs"]["content"][0]["top_logprobs"]
    }
    proc = subprocess.run(
        [
            str(trainer_python),
            str(Path(__file__).with_name("peft_logprobs.py")),
            str(base_model),
            str(adapters["ft-dpo"]),
            json.dumps(messages),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    peft = json.loads(proc.stdout.strip().splitlines()[-1])
    MEASUREMENTS["finetune: DPO first token, vLLM vs PEFT vs base"] = f"{served_top} {peft['adapter']} {peft['base']}"
    best = max(peft["adapter"], key=peft["adapter"].get)
    assert max(served_top, key=served_top.get) == best
    assert set(served_top) == set(peft["adapter"])
    assert all(abs(served_top[t] - peft["adapter"][t]) < 0.05 for t in served_top), (served_top, peft["adapter"])
    # The adapter is not a no-op: PEFT's distribution with it is not the base's.
    tuned, base = peft["adapter"], peft["base"]
    assert set(tuned) != set(base) or any(abs(tuned[t] - base[t]) > 0.05 for t in tuned), (tuned, base)
    ask(max_tokens=256, response_format=response_format("proactive_answer", answer_schema(256)))  # answers through it
