from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
SHARED = REPO.parent / "shared" / "proactivebench"


@pytest.fixture
def calc_project(tmp_path: Path) -> Path:
    """A copy of the failing-test example's workspace: a small project whose tests really fail."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "failing-test" / "workspace", project)
    return project


def run_pytest(project: Path, *args: str) -> tuple[int, str]:
    """Run the project's tests for real and return (exit code, output)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=project, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED / "reward_data" / "train_data.jsonl").exists():
        pytest.skip(f"the ProactiveBench data is not at {SHARED} (it lives beside the repository, in ../shared)")
    return SHARED
