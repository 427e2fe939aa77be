#!/usr/bin/env python3
"""Write tests/fixtures/redaction/corpus.json: fake secrets in realistic surroundings and innocent
look-alikes, for tests/test_redaction_corpus.py.

Every secret is generated here from a fixed seed (never a real credential): provider token shapes,
passwords on command lines, URLs, environment assignments, config files and partial private keys.
The look-alikes are what ordinary output is full of: commit ids, UUIDs, base64 image data, lockfile
integrity hashes, test ids, ordinary code. Run it again after changing it; the test checks the file
is what this script writes.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import sys
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "redaction" / "corpus.json"
ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def build() -> dict[str, list[dict[str, str]]]:
    rng = random.Random(17)

    def r(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    secrets: list[tuple[str, str, str]] = []  # (id, secret, text containing it)

    def add(sid: str, secret: str, template: str) -> None:
        secrets.append((sid, secret, template.replace("{S}", secret)))

    # -- provider tokens ---------------------------------------------------------------------------
    tokens = {
        "github_pat_classic": "ghp_" + r(ALNUM, 36),
        "github_oauth": "gho_" + r(ALNUM, 36),
        "github_app": "ghs_" + r(ALNUM, 36),
        "github_refresh": "ghr_" + r(ALNUM, 36),
        "github_fine_grained": "github_pat_" + r(ALNUM, 22) + "_" + r(ALNUM, 59),
        "gitlab_pat": "glpat-" + r(URLSAFE, 20),
        "gitlab_runner": "glrt-" + r(URLSAFE, 20),
        "aws_access_key": "AKIA" + r(string.ascii_uppercase + "234567", 16),
        "slack_bot": "xoxb-" + r(string.digits, 12) + "-" + r(string.digits, 12) + "-" + r(ALNUM, 24),
        "slack_user": "xoxp-"
        + r(string.digits, 12)
        + "-"
        + r(string.digits, 12)
        + "-"
        + r(string.digits, 12)
        + "-"
        + r(HEX, 32),
        "stripe_live": "sk_live_" + r(ALNUM, 24),
        "stripe_restricted": "rk_live_" + r(ALNUM, 24),
        "openai_project": "sk-proj-" + r(URLSAFE, 48),
        "anthropic": "sk-ant-api03-" + r(URLSAFE, 93) + "AA",
        "google_api": "AIza" + r(URLSAFE, 35),
        "huggingface": "hf_" + r(string.ascii_letters, 34),
        "npm": "npm_" + r(ALNUM, 36),
        "pypi": "pypi-AgEIcHlwaS5vcmc" + r(URLSAFE, 60),
        "sendgrid": "SG." + r(URLSAFE, 22) + "." + r(URLSAFE, 43),
        "shopify": "shpat_" + r(HEX, 32),
        "digitalocean": "dop_v1_" + r(HEX, 64),
        "databricks": "dapi" + r(HEX, 32),
        "doppler": "dp.pt." + r(ALNUM, 43),
        "twilio": "SK" + r(HEX, 32),
        "age": "AGE-SECRET-KEY-1" + r(string.ascii_uppercase + string.digits, 58),
        "linear": "lin_api_" + r(ALNUM, 40),
        "postman": "PMAK-" + r(HEX, 24) + "-" + r(HEX, 34),
        "planetscale": "pscale_tkn_" + r(ALNUM, 43),
        "dynatrace": "dt0c01."
        + r(string.ascii_uppercase + string.digits, 24)
        + "."
        + r(string.ascii_uppercase + string.digits, 64),
        "grafana_cloud": "glc_" + r(ALNUM, 60),
        "grafana_sa": "glsa_" + r(ALNUM, 32) + "_" + r(HEX, 8),
        "pulumi": "pul-" + r(HEX, 40),
        "rubygems": "rubygems_" + r(HEX, 48),
        "mailgun": "key-" + r(HEX, 32),
        "new_relic": "NRAK-" + r(string.ascii_uppercase + string.digits, 27),
        "sentry_user": "sntryu_" + r(HEX, 64),
        "prefect": "pnu_" + r(ALNUM, 36),
        "fly": "fo1_" + r(URLSAFE, 43),
        "heroku_v2": "HRKU-AA" + r(URLSAFE, 58),
        "easypost": "EZAK" + r(ALNUM, 54),
        "flutterwave": "FLWSECK_TEST-" + r(HEX, 32) + "-X",
        "alibaba": "LTAI" + r(ALNUM, 20),
        "frameio": "fio-u-" + r(URLSAFE, 64),
        "atlassian": "ATATT3xFfGF0" + r(URLSAFE, 171) + "=" + r(HEX.upper(), 8),
        "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI" + r(URLSAFE, 30) + "." + r(URLSAFE, 43),
        "azure_storage": r(B64, 86) + "==",
    }
    surroundings = [
        "export TOKEN_VALUE={S}",
        "Using credentials {S} for upload",
        'config = {"credential": "{S}"}',
        "error: authentication failed for token {S}",
        "  header: {S}",
    ]
    for i, (name, tok) in enumerate(tokens.items()):
        if name == "azure_storage":
            add(name, tok, "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={S};EndpointSuffix=core")
            continue
        # gitleaks knows these two only next to their provider's name, as they appear in practice.
        near = {"mailgun": "MAILGUN_API_KEY: {S}", "new_relic": "NEWRELIC_API_KEY: {S}"}
        add(name, tok, near.get(name, surroundings[i % len(surroundings)]))
        add(name + "_in_env", tok, f"{name.upper()}_KEY={{S}}")

    # -- command-line passwords --------------------------------------------------------------------
    for i in range(6):
        pw = r(ALNUM, 8) + "!" + r(ALNUM, 4)
        add(
            f"cli_password_{i}",
            pw,
            [
                "mysql -u root -p{S} shop",
                "PGPASSWORD={S} psql -h db -U app",
                "curl -u deploy:{S} https://ci.example.org/api",
                "sshpass -p {S} ssh admin@10.0.0.7",
                "docker login -u bot -p {S} registry.example.org",
                "mytool sync --password={S} --verbose",
            ][i],
        )
    add("aws_configure", r(B64, 40), "aws configure set aws_secret_access_key {S}")
    add("cli_token_flag", r(ALNUM, 32), "deploy --auth-token {S} --env prod")
    add("cli_api_key_flag", r(ALNUM, 40), "./upload.sh --api-key {S}")

    # -- URLs --------------------------------------------------------------------------------------
    for i, template in enumerate(
        [
            "postgres://app:{S}@db.internal:5432/shop",
            "redis://default:{S}@cache:6379/0",
            "git clone https://oauth2:{S}@gitlab.example.org/team/repo.git",
            "mongodb+srv://admin:{S}@cluster0.example.net/test",
            "amqp://guest:{S}@rabbit:5672/",
        ]
    ):
        add(f"url_password_{i}", r(ALNUM, 10) + "#" + r(ALNUM, 4) if i == 0 else r(ALNUM, 14), template)
    add("url_query_token", r(ALNUM, 32), "GET https://api.example.org/v1/items?page=2&access_token={S}")
    add("url_query_key", r(ALNUM, 39), "fetching https://maps.example.com/geo?key={S}&q=berlin")
    add("url_sas", r(B64, 43) + "%3D", "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sig={S}")

    # -- assignments in code and config files --------------------------------------------------------
    add("env_db_password", r(ALNUM, 16), "DB_PASSWORD={S}")
    add("env_secret_key", r(URLSAFE, 50), "DJANGO_SECRET_KEY='{S}'")
    add("python_api_key", r(ALNUM, 32), 'API_KEY = "{S}"')
    add("js_client_secret", r(ALNUM, 40), "const clientSecret = '{S}';")
    add("yaml_password", r(ALNUM, 18), "database:\n  user: app\n  password: {S}\n")
    add("json_token", r(ALNUM, 40), '{"name": "ci", "authToken": "' + "{S}" + '"}')
    add("ini_secret", r(ALNUM, 24), "[service]\nclient_secret = {S}\n")
    add("toml_token", r(ALNUM, 36), '[registry]\ntoken = "{S}"\n')
    add("netrc_password", r(ALNUM, 20), "machine api.example.org login bot password {S}")
    add("npmrc_auth", r(ALNUM, 36), "//registry.npmjs.org/:_authToken={S}")
    add("docker_auth", r(B64, 40), '{"auths": {"ghcr.io": {"auth": "' + "{S}" + '"}}}')
    add("authorization_header", r(URLSAFE, 40), "Authorization: Bearer {S}")
    add("basic_header", r(B64, 28) + "==", "curl -H 'Authorization: Basic {S}' https://x.example")
    add("log_secret_near_name", r(ALNUM, 30), "2026-01-02 INFO refreshed session_token {S} for user 42")
    add("kotlin_password", r(ALNUM, 14), 'val password = "{S}"')
    add("go_secret", r(ALNUM, 32), 'signingSecret := "{S}"')
    add("ruby_key", r(ALNUM, 32), "config.secret_key_base = '{S}'")

    # -- short, low-entropy passwords: the name (or the flag) says it, whatever the value looks like -------
    for i, (secret, template) in enumerate(
        [
            ("hunter2", "password=hunter2"),
            ("letmein", 'PASSWORD: "letmein"'),
            ("secret1", "--password secret1"),
            ("abc123", "DB_PASS=abc123"),
            ("qwerty", "export SMTP_PASS=qwerty"),
            ("changeit", "keytool -list -keystore app.jks -storepass changeit"),
            ("opensesame", "openssl pkcs12 -export -in c.pem -passout pass:opensesame"),
            ("dragon", "db_pass: dragon"),
            ("monkey1", "pw = 'monkey1'"),
            ("trustno1", "<password>trustno1</password>"),
            ("sunshine", "./manage.py createsuperuser --admin-password=sunshine"),
            ("iloveyou", "Server=sql;Database=shop;User Id=sa;Pwd=iloveyou;"),
        ]
    ):
        add(f"short_password_{i}", secret, template.replace(secret, "{S}"))

    # -- partial private keys ----------------------------------------------------------------------
    body = "\n".join(r(B64, 64) for _ in range(6))
    add("private_key_full", body, "-----BEGIN RSA PRIVATE KEY-----\n{S}\n-----END RSA PRIVATE KEY-----")
    body2 = "\n".join(r(B64, 64) for _ in range(3))
    add("private_key_cut", body2, "$ cat id_ed25519\n-----BEGIN OPENSSH PRIVATE KEY-----\n{S}")
    body3 = "\n".join(r(B64, 64) for _ in range(2))
    add("private_key_ec", body3, "key:\n-----BEGIN EC PRIVATE KEY-----\n{S}\n")

    # -- innocent look-alikes -------------------------------------------------------------------------
    innocent: list[tuple[str, str]] = []
    for i in range(15):
        sha = hashlib.sha1(f"commit {i}".encode()).hexdigest()
        innocent.append(
            (
                f"git_sha_{i}",
                [
                    f"commit {sha}",
                    f"HEAD is now at {sha[:7]} fix parser",
                    f"Merge: {sha[:8]} {sha[8:16]}",
                    f"token {sha}",
                    f"revision: {sha}",
                ][i % 5],
            )
        )
    for i in range(12):
        u = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        innocent.append(
            (
                f"uuid_{i}",
                [
                    f"request_id={u}",
                    f'"id": "{u}"',
                    f"session {u} started",
                    f"trace-id: {u}",
                ][i % 4],
            )
        )
    for i in range(8):
        png = "iVBORw0KGgoAAAANSUhEUgAA" + r(B64, 60)
        innocent.append((f"base64_image_{i}", f'<img src="data:image/png;base64,{png}==">'))
    for i in range(12):
        digest = hashlib.sha512(f"pkg{i}".encode()).digest()
        import base64

        integ = base64.b64encode(digest).decode()
        innocent.append(
            (
                f"lockfile_integrity_{i}",
                [
                    f'      "integrity": "sha512-{integ}",',
                    f"  integrity sha512-{integ}",
                    f'    resolved "https://registry.yarnpkg.com/pkg{i}/-/pkg{i}-1.0.{i}.tgz#{hashlib.sha1(digest).hexdigest()}"',
                ][i % 3],
            )
        )
    for i in range(10):
        innocent.append(
            (
                f"test_id_{i}",
                [
                    f"tests/test_auth.py::test_token_refresh[case{i}] PASSED",
                    f"tests/test_api.py::TestKeys::test_rotate_key_{i} FAILED",
                    f"FAILED tests/test_secret_store.py::test_lookup[{hashlib.md5(str(i).encode()).hexdigest()}]",
                    f"test_password_reset_{i} (tests.test_users.UserTests) ... ok",
                    f"ok {i} - token parser handles nested quotes",
                ][i % 5],
            )
        )
    for i in range(8):
        h = hashlib.sha256(f"f{i}".encode()).hexdigest()
        innocent.append(
            (
                f"checksum_{i}",
                [
                    f"sha256:{h}",
                    f"{h}  dist/app-{i}.tar.gz",
                    f"Digest: sha256:{h}",
                    f"docker pull ghcr.io/acme/app@sha256:{h}",
                ][i % 4],
            )
        )
    code = [
        "token = tokens.pop(0)",
        "password = getpass.getpass()",
        "api_key = os.environ['API_KEY']",
        "secret = settings.SECRET_KEY",
        'password_label = "Password"',
        "def get_token(self) -> str:",
        "auth_token: str | None = None",
        "if not api_key: raise ValueError('missing api key')",
        "const token = await getToken();",
        'let secret = std::env::var("APP_SECRET")?;',
        "passwordField.setHint(R.string.password_hint)",
        "SECRET_KEY = env('SECRET_KEY')",
        "token_type = 'bearer'",
        "key = (row.id, row.version)",
        "for key, value in items.items():",
        "self.keyboard_layout = 'us-intl'",
        "password: ${{ secrets.DB_PASSWORD }}",
        "export API_TOKEN=$API_TOKEN_FROM_VAULT",
        "client_secret: ${CLIENT_SECRET}",
        "password = '<your password here>'",
        "token = 'xxxxxxxxxxxxxxxxxxxxxxxx'",
        "api_key = 'your-api-key'",
        "The access token expires after 3600 seconds.",
        "Set GITHUB_TOKEN in the repository secrets.",
        "E   AssertionError: assert 'tok' == 'token'",
        "key_material = derive(password, salt, iterations=600_000)",
        "passwords.sort(key=len)",
        "sk_counter = 0  # skip counter",
        "ghp_count = len(patterns)",
        "authorization_url = provider.authorize_url(state)",
        "npm WARN deprecated har-validator@5.1.5: this library is no longer supported",
        '  File "/usr/lib/python3.11/site-packages/requests/auth.py", line 42, in __call__',
        "pip install secretstorage==3.3.3 keyring==24.3.1",
        "ERROR: Could not find a version that satisfies the requirement tokenizers==0.99",
        "lib/auth/session_key_rotation.rb:118:in `rotate!'",
        "useEffect(() => { setToken(null) }, [user])",
        "SELECT password_hash FROM users WHERE id = $1",
        "hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 100000)",
        "warning: unused variable `secret_len`",
        "Compiling secrecy v0.8.0",
        # look-alikes of the short-password shape: names and flags that say "password", values that are code
        "password_field = form.cleaned_data['password']",
        "if password:",
        "def check_password(pw):",
        "docker login --password-stdin ghcr.io",
        "psql -h db --password -U app shop",
        "ffmpeg -i in.mp4 -c:v libx264 -pass 2 out.mp4",
        "first_pass = run_pass(tree)",
        "mytool --password $DB_PASSWORD",
        "<password>${env.NEXUS_PASSWORD}</password>",
        "pytest --pass-with-no-tests",
        "password_hint: str = ''",
        "if not check_password(pw): return False",
    ]
    for i, line in enumerate(code):
        innocent.append((f"code_{i}", line))
    for i in range(6):
        n = rng.getrandbits(64)
        innocent.append(
            (
                f"number_{i}",
                [
                    f"Ran 1{i}4 tests in 0.{n % 1000:03d}s",
                    f"pid {n % 99999} exited with code 0",
                    f"0x{n:016x}",
                    f"build #{n % 100000} finished",
                    f"timestamp=17{n % 10**8:08d}",
                    f"version 1.{n % 40}.{n % 7}",
                ][i],
            )
        )
    for i in range(6):
        innocent.append(
            (
                f"path_{i}",
                [
                    "/home/dev/.cache/pip/wheels/3f/78/68/50e387550fdab836ed7e6dc881de23001b",
                    "src/components/PasswordStrengthMeter.tsx",
                    "node_modules/.pnpm/tokenizer@1.2.3/node_modules/tokenizer/index.js",
                    "/usr/share/keyrings/docker-archive-keyring.gpg",
                    "docs/api/authentication.md#access-tokens",
                    "C:\\Users\\dev\\AppData\\Local\\Temp\\pytest-of-dev\\pytest-12",
                ][i],
            )
        )

    return {
        "secrets": [{"id": sid, "secret": s, "text": t} for sid, s, t in secrets],
        "innocent": [{"id": iid, "text": t} for iid, t in innocent],
    }


def main() -> int:
    data = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        return 0 if OUT.read_text() == data else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
