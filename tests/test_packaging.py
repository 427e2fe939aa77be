"""The package as a pip user gets it: the wheel's contents and metadata, and its commands run from it.

The wheel is built from this checkout and unpacked into a folder that is put first on the path, so
the commands below run the installed files, in a folder with no clone of the repository around.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check", "-w", out, REPO],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("proactive_ls-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def run_installed(
    site: Path, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(site), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "proactive_ls", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120
    )


def test_the_wheel_carries_the_licence_the_examples_and_its_metadata(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(zf.read(meta_name).decode())
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    for example in ("failing-test", "errors-after-save", "quiet-editing", "recorded-session"):
        assert any(n.startswith(f"proactive_ls/examples/{example}/") for n in names), example
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("Classifier") and meta.get_all("Project-URL")
    requires = {r.split("<")[0].split(">")[0].split(";")[0].strip(): r for r in meta.get_all("Requires-Dist")}
    # tree-sitter is 0.x and breaks between minors: it and every grammar carry an upper bound.
    for name, spec in requires.items():
        if name.startswith("tree-sitter") or name in ("pygls", "lsprotocol", "pydantic"):
            assert "<" in spec, spec


def test_demo_runs_from_the_installed_package(installed: Path, tmp_path: Path) -> None:
    proc = run_installed(installed, tmp_path, "demo", "--json")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    by_name = {Path(r["source"]).parent.name: r for r in results}
    assert set(by_name) == {"failing-test", "errors-after-save", "quiet-editing"}
    for r in results:
        assert Path(r["source"]).is_relative_to(installed), r["source"]  # the installed copy, not a clone
    assert by_name["failing-test"]["proposals"] >= 1
    assert by_name["errors-after-save"]["proposals"] >= 1
    assert by_name["quiet-editing"]["proposals"] == 0


def test_doctor_calls_the_default_configuration_healthy(installed: Path, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = run_installed(installed, tmp_path, "doctor", env={**env, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for check in ("proposer", "feedback log", "git", "grammars", "gate"):
        assert check in proc.stdout
    assert "healthy" in proc.stdout and "FAIL" not in proc.stdout
    assert "scripts/" not in proc.stdout  # nothing that exists only in a clone


def test_doctor_says_what_to_fix_when_the_log_cannot_be_written(installed: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"feedbackLog": str(blocker / "feedback.jsonl")}))
    proc = run_installed(installed, tmp_path, "doctor", "--settings", str(settings), env={"COLUMNS": "200"})
    assert proc.returncode == 1
    assert "cannot be written" in proc.stdout and "feedbackLog" in proc.stdout


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not valid JSON (line 1"),
        ("[1, 2]", "expected a JSON object of settings, found list"),
        ('{"quietPeriodMs": -5}', "quietPeriodMs"),
    ],
)
def test_bad_settings_files_get_one_line_and_no_traceback(tmp_path: Path, content: str, says: str) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(content)
    session = REPO / "examples" / "failing-test" / "session.jsonl"
    for args in (["replay", "--settings", str(settings), str(session)], ["doctor", "--settings", str(settings)]):
        proc = subprocess.run(
            [sys.executable, "-m", "proactive_ls", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        out = proc.stdout + proc.stderr
        assert proc.returncode == 2, out
        assert says in out and "Traceback" not in out
    missing = subprocess.run(
        [sys.executable, "-m", "proactive_ls", "replay", "--settings", str(tmp_path / "none.json"), str(session)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "no such settings file" in missing.stderr


def test_a_closed_pipe_stops_export_quietly(tmp_path: Path) -> None:
    from tests.test_export import _write_large_log

    log = tmp_path / "feedback.jsonl"
    _write_large_log(log, 5_000)  # several MB of output: far more than a pipe holds
    export = subprocess.Popen(
        [sys.executable, "-m", "proactive_ls", "export", "--format", "reward", "--feedback-log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert export.stdout is not None and export.stderr is not None
    first = export.stdout.readline()
    export.stdout.close()  # what `| head -1` does after its line
    err = export.stderr.read().decode()
    export.wait(timeout=120)
    assert json.loads(first)["obs"]
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception ignored" not in err


def test_choices_complete_in_the_shell() -> None:
    env = {
        **os.environ,
        "_PROACTIVE_LS_COMPLETE": "complete_bash",
        "COMP_WORDS": "proactive-ls export --format ",
        "COMP_CWORD": "3",
    }
    script = Path(sys.executable).with_name("proactive-ls")  # completion is keyed on the program's name
    proc = subprocess.run(
        [str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert set(proc.stdout.split()) == {"reward", "preference", "sft"}, proc.stdout + proc.stderr
