"""Redaction of secrets and exclusion of files, on real files, real repositories and 1 MB inputs."""

from __future__ import annotations

import base64
import json
import random
import string
import sys
import threading
import time
from pathlib import Path

import pytest

from proactive_ls.config import DEFAULT_EXCLUDE
from proactive_ls.events import (
    DiagnosticInfo,
    DiagnosticsChanged,
    DocumentEdited,
    DocumentOpened,
    Failure,
    GitStaged,
    Observation,
    SyntaxErrorFound,
    TerminalCommand,
    render_history,
)
from proactive_ls.sensing.paths import path_to_uri
from proactive_ls.sensing.redaction import Redactor, redact_text
from proactive_ls.sensing.redaction.gitignore import STAMP_TTL_S, GitignoreCache
from tests.test_git_state import _isolated_git, commit, git, make_repo, write  # noqa: F401  (fixture reused)

# Secrets are generated, never written literally: nothing here is a real credential.
_rng = random.Random(4)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


PEM_BODY = "\n".join(rand(64, ALNUM + "+/") for _ in range(6)) + "\n" + rand(20, ALNUM + "+/") + "=="

# (kind, secret, text containing it)
SECRETS: list[tuple[str, str, str]] = []


def case(kind: str, secret: str, template: str = "value: {s} end") -> None:
    SECRETS.append((kind, secret, template.format(s=secret)))


case("aws_access_key_id", "AKIA" + rand(16, string.ascii_uppercase + string.digits), "aws_access_key_id={s}")
case("aws_secret_access_key", rand(40, ALNUM + "+/"), "aws_secret_access_key = {s}")
case("github_token", "ghp_" + rand(36), "git clone https://x-access-token:{s}@github.com/o/r.git")
case("github_token", "gho_" + rand(36))
case("github_token", "ghs_" + rand(36), "GH says {s}.")
case("github_token", "github_pat_" + rand(22) + "_" + rand(59))
case("gitlab_token", "glpat-" + rand(20, ALNUM + "-_"))
case("slack_token", "xoxb-" + rand(12, string.digits) + "-" + rand(12, string.digits) + "-" + rand(24))
case("slack_webhook", "https://hooks.slack.com/services/T" + rand(8) + "/B" + rand(8) + "/" + rand(24))
case("stripe_key", "sk_live_" + rand(24))
case("stripe_key", "rk_live_" + rand(24))
case("openai_key", "sk-" + rand(48), "OPENAI: {s}")
case("openai_key", "sk-proj-" + rand(60, ALNUM + "-_") + rand(20), "client = OpenAI(api_key={s})")
case("anthropic_key", "sk-ant-api03-" + rand(93, ALNUM + "-_") + "AA")
case("google_api_key", "AIza" + rand(35, ALNUM + "-_"), "https://maps.googleapis.com/maps/api?key={s}&x=1")
case("huggingface_token", "hf_" + rand(34))
case("npm_token", "npm_" + rand(36), "//registry.npmjs.org/:_authToken={s}")
case("pypi_token", "pypi-AgEIcHlwaS5vcmc" + rand(70, ALNUM + "-_"))
case(
    "jwt",
    "eyJ"
    + b64url({"alg": "HS256", "typ": "JWT"})[3:]
    + ".eyJ"
    + b64url({"sub": "1234567890", "name": "Jo"})[3:]
    + "."
    + rand(43, ALNUM + "-_"),
)
case(
    "azure_key",
    rand(86, ALNUM + "+/") + "==",
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};EndpointSuffix=core.windows.net",
)
case("azure_sas", rand(40, ALNUM + "%") + "%3D", "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=2030&sig={s}")
case("url_password", "s3cr3t-" + rand(8), "DATABASE_URL: postgres://admin:{s}@db.internal:5432/app")
case("authorization", rand(32, ALNUM + "._-"), "curl -H 'Authorization: Bearer {s}' https://api")
case(
    "private_key", "-----BEGIN RSA PRIVATE KEY-----\n" + PEM_BODY + "\n-----END RSA PRIVATE KEY-----", "key:\n{s}\ndone"
)
case("private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY, "cut short:\n{s}")  # no footer: tail cut
case("password", "hunter2" + rand(4), 'password = "{s}"')
case("password", "hunter2" + rand(4), "DB_PASSWORD={s}")
case("password", "pa ss " + rand(6), 'DB_PASSWORD="{s}"')
case("password", rand(12), "mysql -u root --password={s} shop")
case("password", rand(12), '{{"user": "jo", "password": "{s}"}}')
case("password", rand(12), "  password: {s}")
case("secret", rand(16), "api_key: '{s}'")
case("secret", rand(16), "SECRET_TOKEN = '{s}'")
case("secret", rand(16), "X-Api-Key: {s}")
case("secret", rand(20), "export STRIPE_WEBHOOK_SECRET={s}")
case("secret", rand(20), 'clientSecret: "{s}"')


@pytest.mark.parametrize(("kind", "secret", "text"), SECRETS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(SECRETS)])
def test_each_secret_kind_is_redacted(kind: str, secret: str, text: str) -> None:
    out = redact_text(text)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out, out


def test_what_surrounds_a_secret_is_kept() -> None:
    url = redact_text("postgres://admin:hunter2hunter2@db:5432/app")
    assert url == "postgres://admin:[REDACTED:url_password]@db:5432/app"
    assert (
        redact_text("Authorization: Bearer abcdefghijklmnopqrstuvwx")
        == "Authorization: Bearer [REDACTED:authorization]"
    )
    assert redact_text('password = "hunter2!"  # old') == 'password = "[REDACTED:password]"  # old'
    pem = SECRETS[[k for k, _, _ in SECRETS].index("private_key")][2]
    assert redact_text(pem) == "key:\n[REDACTED:private_key]\ndone"


INNOCUOUS = [
    "password_field = form.password",
    "self.password = password",
    "return authenticate(username=user, password=password)",
    "def login(user: str, password: str = '') -> bool:",
    "    password: str",
    "    password: SecretStr",
    "token = next_token()",
    'if token == "with":',
    "token.markup = 'linkify'",
    'DONE_TOKEN = "done."',
    "api_key_env = 'OPENAI_API_KEY'",
    "client_secret = os.environ['CLIENT_SECRET']",
    "headers = {'X-Api-Key': key}",
    "PASSWORD_MIN_LENGTH = 12",
    'password_label = "Password"',
    "old_env = update_environment(PWD='/tmp')",
    "keyboard = 'qwerty'",
    "https://github.com/org/repo.git",
    "git@github.com:org/repo.git",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "integrity sha512-" + "x" * 86 + "==",
    "for key, value in items.items():",
    "cache_key = f'{user}:{scope}'",
    "The secret is to keep functions small.",
    "task-sk-abcdefghijklmnopqrstuvwxyz0123456789 is a branch name",
]


@pytest.mark.parametrize("text", INNOCUOUS)
def test_innocuous_code_is_untouched(text: str) -> None:
    assert redact_text(text) == text


def site_packages() -> Path:
    found = [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    if not found:
        pytest.skip("no site-packages on sys.path")
    return found[0]


def test_no_false_positives_in_installed_lockfile_hashes() -> None:
    """RECORD files are real manifests full of sha256 hashes: nothing in them is a secret."""
    records = sorted(site_packages().glob("*.dist-info/RECORD"))
    assert len(records) >= 10
    for record in records:
        text = record.read_text()
        assert redact_text(text) == text, record


def test_few_false_positives_in_installed_sources() -> None:
    """Real source files of installed packages: a change is rare and only where a secret word is."""
    site = site_packages()
    files = [
        p
        for pkg in ("pydantic", "git", "httpx", "pygls", "lsprotocol", "typer", "rich", "_pytest")
        for p in (site / pkg).rglob("*.py")
    ]
    assert len(files) > 100
    total, changed = 0, []
    for path in files:
        text = path.read_text(errors="replace")
        lines = text.splitlines()
        total += len(lines)
        out = redact_text(text).splitlines()
        assert len(out) == len(lines), path  # redaction never removes lines of ordinary code
        changed += [(path.name, a) for a, b in zip(lines, out, strict=False) if a != b]
    assert len(changed) <= total / 2_000, changed
    for name, line in changed:  # documentation examples of credentials, not random code
        assert any(w in line.lower() for w in ("pass", "secret", "token", "key", "auth", "://")), (name, line)


def test_go_lockfile_untouched() -> None:
    lock = Path("/usr/share/go-1.19/src/go.sum")
    if not lock.exists():
        pytest.skip("no go.sum from a Go installation on this machine")
    text = lock.read_text()
    assert redact_text(text) == text


# -- speed ---------------------------------------------------------------------------------------


def one_megabyte_of_source() -> str:
    site = site_packages()
    parts, size = [], 0
    for path in sorted((site / "pydantic").rglob("*.py")) + sorted((site / "git").rglob("*.py")):
        text = path.read_text(errors="replace")
        parts.append(text)
        size += len(text)
        if size >= 1_000_000:
            break
    text = "".join(parts)[:1_000_000]
    assert len(text) == 1_000_000
    return text


def cpu_seconds(text: str) -> float:
    start = time.process_time()
    redact_text(text)
    return time.process_time() - start


def growth(text: str) -> float:
    """CPU for all of `text` over CPU for its first tenth, each the best of three, in one run.

    Linear redaction gives about 10; a super-linear pattern gives 100 and more. A ratio measured
    in the same run holds on a busy machine, where a bound in seconds does not (the speed itself
    is scripts/bench-redaction.py's figure).
    """
    tenth = text[: len(text) // 10]
    small = min(cpu_seconds(tenth) for _ in range(3))
    big = min(cpu_seconds(text) for _ in range(3))
    print(f"\nredact {len(text):,} chars: {big * 1000:.0f} ms CPU, {big / max(small, 1e-3):.1f}x its first tenth")
    return big / max(small, 1e-3)


def test_redaction_of_source_grows_linearly() -> None:
    text = one_megabyte_of_source()
    # With secrets sprinkled in, so every pattern runs.
    spiced = text[:500_000] + "\n".join(t for _, _, t in SECRETS) + text[500_000:]
    assert growth(spiced) < 30


ADVERSARIAL = [
    "xoxb-",
    "glpat--",
    "sk-ant--",
    "eyJa-",
    "pypi-AgE-",
    "-----BEGIN PRIVATE KEY-----",
    "://a:",
    "a-",
    "password=",
    'password="',
    "KEY= ",
    "key: ",
    "Bearer ",
    "AccountKey=",
    "pwd\n",
    "x" * 70 + "=",
]


@pytest.mark.parametrize("unit", ADVERSARIAL)
def test_adversarial_megabyte_stays_linear(unit: str) -> None:
    assert growth(unit * (1_000_000 // len(unit))) < 30


# -- exclusion -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel",
    [
        ".env",
        "config/.env.production",
        "deploy/prod.env",
        "certs/server.pem",
        "tls/site.key",
        "id_rsa",
        "id_ed25519.pub",
        "secrets.yaml",
        "app/credentials.json",
        ".netrc",
        "keys/store.jks",
        "CERTS/ROOT.CRT",
    ],
)
def test_default_globs_exclude(tmp_path: Path, rel: str) -> None:
    redactor = Redactor(roots=[tmp_path], respect_gitignore=False)
    assert redactor.is_excluded(tmp_path / rel)
    assert redactor.is_excluded(path_to_uri(tmp_path / rel))
    assert redactor.is_excluded(rel)  # relative to a root


@pytest.mark.parametrize(
    "rel",
    ["environment.py", "src/main.py", "keyboard.py", "README.md", "docs/env.md", "src/secrets_test_helpers/x.txt"],
)
def test_default_globs_keep(tmp_path: Path, rel: str) -> None:
    assert not Redactor(roots=[tmp_path], respect_gitignore=False).is_excluded(tmp_path / rel)


def test_custom_globs_relative_to_a_root(tmp_path: Path) -> None:
    redactor = Redactor(exclude=["fixtures/private/**", "*.sqlite", "vault"], roots=[tmp_path], respect_gitignore=False)
    assert redactor.is_excluded(tmp_path / "fixtures/private/a/b.json")
    assert not redactor.is_excluded(tmp_path / "other/fixtures/private/a.json")  # anchored at the root
    assert redactor.is_excluded(tmp_path / "data/app.sqlite")
    assert redactor.is_excluded(tmp_path / "ops/vault/token.txt")  # a folder name anywhere on the path
    assert not redactor.is_excluded(tmp_path / ".env")  # the defaults are replaced, not extended
    assert not redactor.is_excluded("untitled:Untitled-1")


def test_gitignored_files_are_excluded(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".gitignore", "build/\n*.log\nlocal_settings.py\n")
    write(repo / "sub" / ".gitignore", "cache.json\n")
    commit(repo, "Ignore things", **{"src/app.py": "x = 1\n"})
    write(repo / "forced.log", "tracked although ignored\n")
    git(repo, "add", "-f", "forced.log")
    redactor = Redactor(roots=[repo])
    paths = [
        repo / "build" / "out.o",
        repo / "debug.log",
        repo / "local_settings.py",
        repo / "sub" / "cache.json",
        repo / "src" / "app.py",
        repo / "forced.log",
        repo / "sub" / "other.json",
        repo / "cache.json",
    ]
    assert redactor.is_excluded_many(paths) == [True, True, True, True, False, False, False, False]
    assert redactor.is_excluded(path_to_uri(repo / "debug.log"))
    # Cached, and invalidated when an ignore file changes: its mtime is looked at again once
    # STAMP_TTL_S has passed (on the cache's clock, here a hand-moved one).
    now = [0.0]
    cache = GitignoreCache(clock=lambda: now[0])
    other = [(0, repo / "sub" / "other.json")]
    assert cache.ignored(other) == [(0, False)]
    write(repo / "sub" / ".gitignore", "cache.json\nother.json\n")
    assert cache.ignored(other) == [(0, False)]  # within the TTL: no stat, the cached answer
    now[0] += STAMP_TTL_S
    assert cache.ignored(other) == [(0, True)]
    cache.close()
    assert not Redactor(roots=[repo], respect_gitignore=False).is_excluded(repo / "debug.log")
    # Outside any repository only the globs apply.
    plain = tmp_path / "plain"
    plain.mkdir()
    assert not Redactor(roots=[plain]).is_excluded(plain / "debug.log")


# -- events --------------------------------------------------------------------------------------


def test_event_of_an_excluded_file_keeps_no_content(tmp_path: Path) -> None:
    redactor = Redactor(roots=[tmp_path])
    env = tmp_path / ".env"
    uri = path_to_uri(env)
    edit = DocumentEdited(
        time=1,
        uri=uri,
        path=".env",
        lines_changed=2,
        first_line=3,
        last_line=4,
        definitions=["assignment `API_KEY`"],
        added=["`API_KEY`"],
        removed=["`OLD`"],
        renamed=[("A", "B")],
    )
    kept = redactor.redact_event(edit)
    assert kept == DocumentEdited(time=1, uri=uri, path=".env", lines_changed=2, first_line=3, last_line=4)
    diag = DiagnosticsChanged(
        time=2,
        uri=uri,
        path=".env",
        errors=1,
        new_errors=1,
        first_error=DiagnosticInfo(line=0, message="bad value 'hunter2'"),
        items=[DiagnosticInfo(line=0, message="bad value 'hunter2'")],
    )
    assert redactor.redact_event(diag) == DiagnosticsChanged(time=2, uri=uri, path=".env", errors=1, new_errors=1)
    syntax = SyntaxErrorFound(time=3, uri=uri, path=".env", line=1, missing='"')
    assert redactor.redact_event(syntax) == SyntaxErrorFound(time=3, uri=uri, path=".env", line=1)
    opened = DocumentOpened(time=4, uri=uri, path=".env", language_id="dotenv", line_count=9)
    assert redactor.redact_event(opened) == opened
    assert redactor.redact_event(Observation(time=5, uri=uri, path=".env", text="API_KEY is now abc")) is None


def test_strings_are_redacted_recursively(tmp_path: Path) -> None:
    token = "ghp_" + rand(36)
    redactor = Redactor(roots=[tmp_path])
    run = TerminalCommand(
        time=1,
        command_line=f"curl -H 'Authorization: token {token}' https://api.github.com",
        exit_code=1,
        failure=Failure(tool="python", title=f"HTTPError: 401 for token {token}", summary="it failed"),
        output_tail=f"... {token} ...",
    )
    out = redactor.redact_event(run)
    assert out is not None and token not in out.model_dump_json()
    assert isinstance(out, TerminalCommand) and out.failure is not None
    assert out.failure.title == "HTTPError: 401 for token [REDACTED:github_token]"
    diag = DiagnosticsChanged(
        time=2,
        uri=path_to_uri(tmp_path / "app.py"),
        errors=1,
        items=[DiagnosticInfo(line=3, message=f"unused name {token}")],
    )
    out_diag = redactor.redact_event(diag)
    assert (
        isinstance(out_diag, DiagnosticsChanged) and out_diag.items[0].message == "unused name [REDACTED:github_token]"
    )
    staged = GitStaged(time=3, files=["src/app.py", ".env"])
    assert redactor.redact_event(staged) is staged  # names of touched files are kept; nothing to redact


def test_terminal_output_of_an_excluded_file_is_dropped(tmp_path: Path) -> None:
    redactor = Redactor(roots=[tmp_path])
    run = TerminalCommand(time=1, command_line="cat .env", exit_code=0, output_tail="DEBUG=1\nNAME=shop\n")
    out = redactor.redact_event(run)
    assert isinstance(out, TerminalCommand) and out.output_tail == "" and out.command_line == "cat .env"
    other = TerminalCommand(time=1, command_line="cat README.md", exit_code=0, output_tail="hello\n")
    assert redactor.redact_event(other) == other


def test_redaction_can_be_turned_off_but_not_exclusion(tmp_path: Path) -> None:
    redactor = Redactor(roots=[tmp_path], redact_secrets=False)
    text = 'password = "hunter2!"'
    assert redactor.redact(text) == text
    obs = Observation(time=1, uri=path_to_uri(tmp_path / "server.key"), text="something")
    assert redactor.redact_event(obs) is None


def test_privacy_session_leaks_neither_secret(tmp_path: Path) -> None:
    """A .env is opened and edited, a token is typed into a source file and printed by a test run:
    neither the .env value nor the token is in what would be kept, logged or sent to a model."""
    env_value = "dotenv-" + rand(24)
    token = "sk-ant-api03-" + rand(60)
    write(tmp_path / ".env", f"API_KEY={env_value}\n")
    app = tmp_path / "app.py"
    redactor = Redactor(roots=[tmp_path])
    events = [
        DocumentOpened(time=1, uri=path_to_uri(tmp_path / ".env"), path=".env", line_count=1),
        DocumentEdited(
            time=2, uri=path_to_uri(tmp_path / ".env"), path=".env", definitions=[f"variable `{env_value}`"]
        ),
        Observation(time=3, uri=path_to_uri(tmp_path / ".env"), text=f"API_KEY={env_value}"),
        DocumentEdited(time=4, uri=path_to_uri(app), path="app.py", definitions=[f"constant `TOKEN = {token}`"]),
        TerminalCommand(
            time=5,
            command_line="pytest",
            exit_code=1,
            output_tail=f"E   AssertionError: {token} != None\nAPI_KEY={env_value}",
        ),
        Observation(time=6, text=f"The user pastes {token}"),
    ]
    kept = [e for e in (redactor.redact_event(e) for e in events) if e is not None]
    dumped = json.dumps([e.model_dump() for e in kept]) + json.dumps(render_history(kept))
    assert len(kept) == 5
    assert token not in dumped and env_value not in dumped


def test_default_exclude_is_the_configured_default() -> None:
    assert Redactor().exclude == DEFAULT_EXCLUDE


def test_gitignore_warmed_off_the_loop_answers_with_the_same_process(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo / ".gitignore", "*.log\n")
    commit(repo, "Ignore logs", **{"app.py": "x = 1\n"})
    cache = GitignoreCache()
    cache.warm(repo)  # what the session runs in a worker thread at start
    [process] = cache._processes.values()
    assert process.alive()
    assert cache.ignored([(0, repo / "debug.log"), (1, repo / "app.py")]) == [(0, True), (1, False)]
    assert list(cache._processes.values()) == [process]  # no second process was started
    cache.close()
    assert not process.alive()


def test_a_question_asked_while_warming_waits_for_that_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's question during the warm-up shares its process: one index load, not two."""
    from proactive_ls.sensing.redaction import gitignore

    repo = make_repo(tmp_path / "repo")
    write(repo / ".gitignore", "*.log\n")
    commit(repo, "Ignore logs", **{"app.py": "x = 1\n"})
    started: list[object] = []
    warming, asked = threading.Event(), threading.Event()
    original_init, original_ask = gitignore._CheckIgnore.__init__, gitignore._CheckIgnore.ask

    def counting_init(self: gitignore._CheckIgnore, root: Path) -> None:
        started.append(self)
        original_init(self, root)

    def ask(self: gitignore._CheckIgnore, rels: list[str]) -> set[str]:
        if rels == ["."]:  # the warm-up: held until the loop's question is under way
            warming.set()
            assert asked.wait(30)
        return original_ask(self, rels)

    monkeypatch.setattr(gitignore._CheckIgnore, "__init__", counting_init)
    monkeypatch.setattr(gitignore._CheckIgnore, "ask", ask)
    cache = GitignoreCache()
    warm = threading.Thread(target=cache.warm, args=(repo,))
    warm.start()
    assert warming.wait(30)
    asked.set()
    answers = cache.ignored([(0, repo / "debug.log"), (1, repo / "app.py")])
    warm.join(30)
    assert answers == [(0, True), (1, False)]
    assert len(started) == 1  # the question did not start a second check-ignore
    cache.close()
