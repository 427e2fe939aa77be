#!/usr/bin/env python3
"""Run every corpus case's tool for real and store what it printed, for machines without the tool.

    scripts/corpus-capture.py

For each seeded failure in tests/fixtures/corpus/cases.json: copy the project to a temporary
folder, apply the seed, run the command, and write captured/<case>.txt (the output) and .json
(the command, its exit code, the compiler line for syntax cases). tests/test_corpus.py runs the
tool itself when it is installed and replays these files otherwise.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import corpus  # noqa: E402


def main() -> int:
    corpus.CAPTURED.mkdir(exist_ok=True)
    for case in corpus.cases()["failures"]:
        if not corpus.installed(case["program"]):
            print(f"{case['name']}: {case['program']} is not installed; kept the old capture", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            project = corpus.copy_project(case["project"], Path(tmp))
            corpus.apply_seed(project, corpus.seed_of(case))
            code, output = corpus.run_failure(case, project)
            output = output.replace(str(project), "/work/" + case["project"])
        (corpus.CAPTURED / f"{case['name']}.txt").write_text(output, encoding="utf-8")
        meta = {"commandLine": case["command"], "cwd": "/work/" + case["project"], "exitCode": code}
        (corpus.CAPTURED / f"{case['name']}.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"{case['name']}: exit {code}, {len(output)} chars")
    for case in corpus.cases()["syntax"]:
        project_name = case["file"].split("/")[0]
        with tempfile.TemporaryDirectory() as tmp:
            project = corpus.copy_project(project_name, Path(tmp))
            seed = corpus.Seed(case["file"].split("/", 1)[1], case["line"], case["old"], case["new"])
            corpus.apply_seed(project, seed)
            line, output = corpus.compiler_line(case, project / seed.file)
        if line is None:
            print(f"{case['name']}: the compiler named no line (kept the old record)\n{output[:400]}", file=sys.stderr)
            continue
        output = output.replace(tmp, "/work")
        (corpus.CAPTURED / f"{case['name']}.txt").write_text(output, encoding="utf-8")
        meta = {"compiler": case["compiler"], "line": line}
        (corpus.CAPTURED / f"{case['name']}.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"{case['name']}: the compiler names line {line} (seeded at {case['line']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
