"""The redaction corpus (tests/fixtures/redaction/corpus.json, written by
scripts/make-redaction-corpus.py): every fake secret is removed and every innocent look-alike is left
exactly as it was, at the function level for all samples and through the real server for a subset,
in all four sinks: the feedback log, a `serve --record` recording, the exports, and the request
bodies a model receives (the fake OpenAI server on a real socket)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from proactive_ls.events import TerminalCommand
from proactive_ls.feedback.export import main_export
from proactive_ls.lsp import protocol
from proactive_ls.lsp.recorder import redact_strings
from proactive_ls.sensing.redaction import Redactor, redact_text
from proactive_ls.sensing.redaction.entropy import THRESHOLD, looks_random
from proactive_ls.sensing.redaction.ruleset import shannon_entropy, translate_re2, vendored
from tests.conftest import run_pytest
from tests.fault_server import FaultServer
from tests.lsp_client import SERVER_COMMAND, eventually, read_log, start_session

ROOT = Path(__file__).resolve().parent.parent
CORPUS = json.loads((ROOT / "tests" / "fixtures" / "redaction" / "corpus.json").read_text())
SECRETS: list[dict[str, str]] = CORPUS["secrets"]
INNOCENT: list[dict[str, str]] = CORPUS["innocent"]


def leaked(sample: dict[str, str], out: str) -> bool:
    """Whether any line of the sample's secret survives in ``out`` (a key block is several lines)."""
    return any(part in out for part in sample["secret"].split("\n") if part)


def test_the_fixture_is_what_the_generator_writes() -> None:
    check = subprocess.run([sys.executable, "scripts/make-redaction-corpus.py", "--check"], cwd=ROOT)
    assert check.returncode == 0, "run scripts/make-redaction-corpus.py"
    assert len(SECRETS) >= 100 and len(INNOCENT) >= 100


# -- the rule set ----------------------------------------------------------------------------------


def test_gitleaks_rules_load_and_the_skipped_ones_are_counted() -> None:
    rules = vendored()
    skipped = dict(rules.skipped)
    # 222 rules upstream: 216 compile, one Go construct is not translated faithfully, five hold for
    # some file names only (or have no regex), which text without a path cannot tell.
    assert len(rules.rules) == 216 and len(skipped) == 6, skipped
    assert skipped["curl-auth-header"] == "inline flag before an alternation"
    assert {"pkcs12-file", "hashicorp-tf-password", "kubernetes-secret-yaml", "nuget-config-password"} <= set(skipped)
    assert "generic-api-key" in {r.id for r in rules.rules}
    assert all(r.keywords for r in rules.rules)  # every rule has its cheap prefilter


@pytest.mark.parametrize(
    ("go", "python"),
    [
        (r"lin_api_(?i)[a-z0-9]{40}", r"lin_api_(?i:[a-z0-9]{40})"),
        (r"\b(LTAI(?i)[a-z0-9]{20})(?:x|$)", r"\b(LTAI(?i:[a-z0-9]{20}))(?:x|$)"),
        (r"(?:[^\w-]|\z)", r"(?:[^\w-]|\Z)"),
        (r"pat[[:alnum:]]{14}", r"pat[a-zA-Z0-9]{14}"),
        (r"(?i)abc", r"(?i)abc"),
    ],
)
def test_re2_translation(go: str, python: str) -> None:
    assert translate_re2(go) == python


def test_a_translated_rule_keeps_its_case_scope() -> None:
    linear = next(r for r in vendored().rules if r.id == "linear-api-key")
    assert linear.regex.search("lin_api_" + "aB3" * 13 + "x")
    assert not linear.regex.search("LIN_API_" + "aB3" * 13 + "x")  # the prefix stays case-sensitive


# -- every sample, function level ----------------------------------------------------------------


def test_every_secret_is_removed_and_every_look_alike_kept() -> None:
    missed = [s["id"] for s in SECRETS if leaked(s, redact_text(s["text"]))]
    touched = [(i["id"], redact_text(i["text"])) for i in INNOCENT if redact_text(i["text"]) != i["text"]]
    print(f"\nrecall {len(SECRETS) - len(missed)}/{len(SECRETS)}, false positives {len(touched)}/{len(INNOCENT)}")
    assert missed == [] and touched == []


def test_every_sample_through_the_event_and_recording_redactors() -> None:
    """The history (hence model bodies and the feedback log) and the recorder use these two paths."""
    redactor = Redactor(roots=[Path("/ws")])
    for s in [*SECRETS, *INNOCENT]:
        event = TerminalCommand(time=1.0, command_line="make", exit_code=1, output_tail=s["text"])
        kept = redactor.redact_event(event)
        assert kept is not None
        message = {"method": protocol.TERMINAL_COMMAND, "params": {"output": s["text"], "commandLine": s["text"]}}
        recorded = json.dumps(redact_strings(message, redactor.redact))
        if "secret" in s:
            assert not leaked(s, kept.model_dump_json()) and not leaked(s, recorded), s["id"]
        else:
            assert isinstance(kept, TerminalCommand) and kept.output_tail == s["text"], s["id"]
            assert json.loads(recorded)["params"]["output"] == s["text"], s["id"]


def test_the_entropy_threshold_is_above_every_hex_look_alike() -> None:
    """Commit ids, hashes and UUIDs next to a secret-like name stay: hexadecimal reaches 4.0 bits at
    most, and the measured maximum over the look-alikes is printed."""
    hexish = [w for i in INNOCENT for w in i["text"].replace(":", " ").split() if len(w) >= 20]
    hexish = [w for w in hexish if set(w.lower()) <= set("0123456789abcdef-")]
    top = max(shannon_entropy(w) for w in hexish)
    print(f"\n{len(hexish)} hex tokens, highest entropy {top:.2f} bits/char, threshold {THRESHOLD}")
    assert hexish and top < THRESHOLD and not any(looks_random(w) for w in hexish)
    assert (
        redact_text("token 3f786850e387550fdab836ed7e6dc881de23001b")
        == "token 3f786850e387550fdab836ed7e6dc881de23001b"
    )
    assert "[REDACTED:entropy]" in redact_text("deploy --auth-token Xk9fQ2mZ7pL4vR8sT1wY6bN3cH5jD0gA")


# -- a subset through the real server, all four sinks ---------------------------------------------

SUBSET = SECRETS[::4]  # 32 secrets, every kind of surrounding


def _chunks(samples: list[dict[str, str]], size: int) -> list[list[dict[str, str]]]:
    return [samples[i : i + size] for i in range(0, len(samples), size)]


async def test_a_real_session_leaks_no_secret_into_any_sink(tmp_path: Path, calc_project: Path) -> None:
    model = FaultServer().start()
    log = tmp_path / "feedback.jsonl"
    recording = tmp_path / "session.recording.jsonl"
    try:
        client = await start_session(
            calc_project,
            log,
            command=[*SERVER_COMMAND, "--record", str(recording)],
            settings={
                "backend": "vllm",
                "judge": "none",
                "ignoreAfterS": 0.5,
                "model": {"url": model.url, "name": model.model},
            },
        )
        try:
            code, output = run_pytest(calc_project)
            assert code == 1
            # A few runs, each with secrets in its command line (which the history and so the model
            # request keep) and in its output (which the recording keeps), then one with look-alikes.
            runs = [[s["text"] for s in group] for group in _chunks(SUBSET, 8)]
            runs.append([i["text"] for i in INNOCENT[:32]])
            for k, lines in enumerate(runs, start=1):
                client.protocol.notify(
                    protocol.TERMINAL_COMMAND,
                    {"commandLine": " ; ".join(f"echo {line}" for line in lines), "cwd": str(calc_project),
                     "exitCode": code, "output": "\n".join(lines) + "\n" + output[-800:]},
                )  # fmt: skip
                # Each run is asked about on its own (a long command fills the model's history).
                await eventually(lambda k=k: model.chat_count() >= k, timeout=30)
            await client.wait_until(lambda: client.resolved)  # a proposal was made and ignored
        finally:
            await client.shutdown_session()
    finally:
        model.stop()

    bodies = b"".join(model.raw_bodies).decode()
    sent = json.dumps([json.loads(b) for b in model.raw_bodies])
    feedback = log.read_text()
    recorded = recording.read_text()
    assert model.raw_bodies and read_log(log) and "[REDACTED:" in sent and "[REDACTED:" in recorded
    # Exports of the real log, and of a copy whose observations hold every sample of the corpus.
    record = read_log(log)[0]
    everything = {
        **record,
        "record_id": uuid.uuid4().hex,
        "outcome": "accepted",
        "observations": [
            *record["observations"],
            *({"Time": "2025-11-24 16:00:00", "Event": f"The user ran 'make' and saw: {s['text']}"} for s in SECRETS),
        ],
    }
    leaky = tmp_path / "leaky.jsonl"
    leaky.write_text(json.dumps(everything) + "\n")
    exported: dict[str, str] = {}
    for fmt in ("reward", "preference", "sft"):
        for source in (log, leaky):
            out = tmp_path / f"{fmt}-{source.stem}.jsonl"
            assert main_export(fmt, source, None, None, out, True) == 0
            exported[f"{fmt}-{source.stem}"] = out.read_text()
    assert exported["reward-leaky"].strip()

    sinks: dict[str, str] = {"model request bodies": bodies + sent, "feedback log": feedback, "recording": recorded}
    sinks.update(exported)
    leaks = {name: [s["id"] for s in SUBSET if leaked(s, text)] for name, text in sinks.items()}
    leaks.update(
        {name: [s["id"] for s in SECRETS if leaked(s, text)] for name, text in exported.items() if "leaky" in name}
    )
    assert all(not ids for ids in leaks.values()), {k: v for k, v in leaks.items() if v}
    # The look-alikes reached the recording untouched (the history may cut them; the recording keeps all).
    messages: list[dict[str, Any]] = [json.loads(line)["message"] for line in recorded.splitlines()[1:] if line.strip()]
    outputs = "".join(m["params"]["output"] for m in messages if m.get("method") == protocol.TERMINAL_COMMAND)
    assert [i["id"] for i in INNOCENT[:32] if i["text"] not in outputs] == []
    events = "".join(
        o["Event"]
        for b in model.raw_bodies
        for o in json.loads(json.loads(b)["messages"][-1]["content"])["Observations"]
    )
    assert [i["id"] for i in INNOCENT[:32] if i["text"] not in events] == []
