#!/usr/bin/env python3
"""Redaction speed with and without gitleaks' rule set and the entropy rule, in the same run.

Events of the kinds the engine redacts (terminal commands with output, edits' definition labels,
diagnostics), their strings all distinct so the short-text cache does not hide the cost, then the
same stream repeated (what the cache gives in a real session). Prints events/s and the ratio.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import proactive_ls.sensing.redaction.secrets as secrets  # noqa: E402
from proactive_ls.events import DiagnosticInfo, DiagnosticsChanged, TerminalCommand  # noqa: E402
from proactive_ls.sensing.redaction import Redactor  # noqa: E402
from proactive_ls.sensing.redaction.ruleset import RuleSet, vendored  # noqa: E402

N = 3000


def events(seed: int) -> list:
    rng = random.Random(seed)
    corpus = json.loads((ROOT / "tests/fixtures/redaction/corpus.json").read_text())
    texts = [s["text"] for s in corpus["secrets"]] + [i["text"] for i in corpus["innocent"]]
    source = (ROOT / "proactive_ls/session.py").read_text().splitlines()
    out: list = []
    for i in range(N):
        lines = rng.sample(source, 30) + [rng.choice(texts), f"run {seed}-{i}"]
        if i % 2:
            out.append(TerminalCommand(time=1.0, command_line=f"pytest -q -k case{i}", exit_code=1,
                                       output_tail="\n".join(lines)))  # fmt: skip
        else:
            info = DiagnosticInfo(line=i % 90, message=f"{rng.choice(source).strip()} {rng.choice(texts)} ({i})")
            out.append(DiagnosticsChanged(time=1.0, path=f"src/m{i}.py", errors=1, first_error=info, items=[info]))
    return out


def rate(redactor: Redactor, stream: list) -> float:
    start = time.perf_counter()
    for e in stream:
        redactor.redact_event(e)
    return len(stream) / (time.perf_counter() - start)


def main() -> int:
    redactor = Redactor(roots=[ROOT])
    vendored()  # loaded once at start-up; not part of the per-event cost
    full_rules, full_entropy = secrets.vendored, secrets.redact_high_entropy
    rows = []
    for name, rules, entropy in (
        ("hand-written rules only (before)", lambda: RuleSet([], []), lambda t, _l: t),
        ("+ gitleaks rules + entropy (now)", full_rules, full_entropy),
    ):
        secrets.vendored, secrets.redact_high_entropy = rules, entropy  # type: ignore[assignment]
        secrets._redact_cached.cache_clear()
        secrets._redact_cached_long.cache_clear()
        distinct = rate(redactor, events(1))
        repeated = rate(redactor, events(1))  # same strings again: the cache answers
        rows.append((name, distinct, repeated))
    print(f"{'pipeline':36} {'distinct ev/s':>14} {'repeated ev/s':>14}")
    for name, d, r in rows:
        print(f"{name:36} {d:14.0f} {r:14.0f}")
    print(f"{'ratio now/before':36} {rows[1][1] / rows[0][1]:14.2f} {rows[1][2] / rows[0][2]:14.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
