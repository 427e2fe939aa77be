"""The VS Code extension in a real workbench: the packaged .vsix in code-server's extension host,
driven by headless Chromium (client-vscode/test/e2e/run.mjs says what it checks).

It installs what it needs (scripts/codeserver-env.sh, cached under ~/.cache/proactive-ls/) and
fails — never skips — when npm, code-server or the browser cannot be had.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from proactive_ls.lsp import protocol

REPO = Path(__file__).resolve().parent.parent
CLIENT = REPO / "client-vscode"


def _env_of_codeserver() -> dict[str, str]:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "codeserver-env.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, f"scripts/codeserver-env.sh failed:\n{proc.stderr[-4000:]}"
    pairs = [line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line]
    return {k: v for k, v in pairs}


def _package() -> Path:
    npm = shutil.which("npm")
    assert npm, "npm is not installed: the VS Code extension cannot be built"
    if not (CLIENT / "node_modules" / ".bin" / "vsce").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CLIENT, check=True)
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([npm, "run", "--silent", "package"], cwd=CLIENT, check=True, env=env, stdout=subprocess.DEVNULL)
    vsix = CLIENT / "proactive-ls.vsix"
    assert vsix.is_file()
    return vsix


@pytest.mark.timeout(1200)
def test_extension_in_code_server(tmp_path: Path) -> None:
    env = _env_of_codeserver()
    vsix = _package()
    # A server with the commands of the "user in control" issue also takes late answers and resumes.
    late = "yes" if "proactive.resume" in protocol.COMMANDS else "no"
    cmd = [
        env["NODE24"],
        str(CLIENT / "test" / "e2e" / "run.mjs"),
        "--code-server", env["CODE_SERVER"],
        "--node", env["NODE24"],
        "--chromium", env["CHROMIUM"],
        "--puppeteer", env["PUPPETEER_DIR"],
        "--vsix", str(vsix),
        "--python", sys.executable,
        "--late-answers", late,
        "--screenshots", os.environ.get("PROACTIVE_LS_SCREENSHOTS", str(tmp_path / "screenshots")),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1100)
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0, out[-6000:]
    assert "e2e: 7 passed, 0 failed" in proc.stdout
