#!/usr/bin/env python3
"""Rebuild proactive_ls/judges/gate_model.json from the ProactiveBench reward data, deterministically.

The data is ProactiveBench (thunlp/ProactiveAgent, ICLR 2025), Apache License 2.0; it is read
from ../shared/proactivebench (or $PROACTIVEBENCH_DATA, or the directory given as the first
argument) and never copied into the repository. The artifact records that licence, the training
set, the hyper-parameters and the leave-one-trace-out evaluation (``--no-eval`` skips it).

    .venv/bin/python scripts/build-gate.py [DATA_DIR] [--no-eval] [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proactive_ls.bench.gate_eval import default_data_dir, evaluate  # noqa: E402
from proactive_ls.judges.gate import EAGERNESS_THRESHOLDS, PACKAGED_MODEL  # noqa: E402
from proactive_ls.judges.gate_train import DATA_LICENSE, DATA_SOURCE, load_reward_rows, train_gate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, help="the ProactiveBench directory (holding reward_data/)")
    parser.add_argument("--out", type=Path, default=PACKAGED_MODEL)
    parser.add_argument("--no-eval", action="store_true", help="do not record the leave-one-trace-out evaluation")
    args = parser.parse_args()
    data = args.data or default_data_dir()
    train_file = data / "reward_data" / "train_data.jsonl" if data else None
    if train_file is None or not train_file.is_file():
        print(
            f"ProactiveBench data not found ({train_file or '../shared/proactivebench, $PROACTIVEBENCH_DATA'})",
            file=sys.stderr,
        )
        return 2
    gate = train_gate(load_reward_rows(train_file), seed=0)
    gate.meta.update(
        {
            "data_license": DATA_LICENSE,
            "data_source": DATA_SOURCE,
            "built_by": "scripts/build-gate.py",
            "thresholds": EAGERNESS_THRESHOLDS,
        }
    )
    if not args.no_eval:
        gate.meta["evaluation"] = evaluate(data)
    gate.save(args.out)
    print(f"wrote {args.out} (version {gate.version}, {len(gate.weights)} weights)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
