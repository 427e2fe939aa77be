"""The shapes that once passed redaction (command lines, URLs, provider tokens) and look-alikes
that must stay as they are."""

from __future__ import annotations

import pytest

from proactive_ls.sensing.redaction.secrets import redact_text

LEAKS = [
    ("PGPASSWORD=S3cr3tPw psql -h db -U app", "S3cr3tPw"),
    ("mysql -u root -pHunter2Pass mydb", "Hunter2Pass"),
    ("curl -u alice:Wonderland42 https://api.example.com", "Wonderland42"),
    ("sshpass -p 'Tr0ub4dor' ssh me@host", "Tr0ub4dor"),
    ("docker login -u me -p dckr_secret_value registry.example.com", "dckr_secret_value"),
    ("redis-cli -u redis://:RedisPass99@cache:6379", "RedisPass99"),
    ("git clone https://bob:p@ss#w/rd@github.com/org/repo.git", "p@ss#w/rd"),
    ("curl 'https://api.example.com/v1/items?api_key=abcd1234efgh&limit=5'", "abcd1234efgh"),
    ("aws configure set aws_secret_access_key wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY", "wJalrXUtnFEMIK7MDENG"),
    ("export SHOPIFY=shpat_" + "a1" * 16, "shpat_" + "a1" * 16),
    ("DO=dop_v1_" + "ab12" * 16, "dop_v1_" + "ab12" * 16),
    ("token dapi" + "0123456789abcdef" * 2, "dapi" + "0123456789abcdef" * 2),
    ("DOPPLER_TOKEN=dp.pt." + "Ab3" * 14 + "x", "dp.pt." + "Ab3" * 14),
    ("twilio key SK" + "0123456789abcdef" * 2, "SK" + "0123456789abcdef" * 2),
    ("AGE-SECRET-KEY-1" + "QWERTYUIOPASDFGHJKLZXCVBNM234567" + "QWERTYUIOPASDFGHJKLZXCVBNM", "AGE-SECRET-KEY-1QWERTY"),
    ("psql postgres://admin:pa:ss@w0rd@db.internal:5432/app", "pa:ss@w0rd"),
    ("mysqldump --password=DumpPass77 shop", "DumpPass77"),
    # Short, plain passwords: the name or the flag says it, whatever the value looks like.
    ("password=hunter2", "hunter2"),
    ('PASSWORD: "letmein"', "letmein"),
    ("--password secret1", "secret1"),
    ("DB_PASS=abc123", "abc123"),
    ("smtp_pass: qwerty", "qwerty"),
    ("pw = 'monkey1'", "monkey1"),
    ("keytool -list -storepass changeit", "changeit"),
    ("openssl pkcs12 -export -passout pass:opensesame", "opensesame"),
    ("<password>trustno1</password>", "trustno1"),
    ("echo db_pass: dragon ; make", "dragon"),
    # Inside another name's value: `saw: password=...` is not `saw` set to `password=...`.
    ("The user ran 'make' and saw: password=hunter2", "hunter2"),
    ("config error: DB_PASS=abc123 is rejected", "abc123"),
]

INNOCENT = [
    "pytest -p no:cacheprovider tests/",
    "git log -p --stat",
    "ssh -p 2222 me@host",
    "curl -u alice https://api.example.com",
    "https://github.com/org/repo/pull/12?tab=files&page=2",
    "mysql -u root -p mydb",
    "docker login registry.example.com",
    "SKIP_TESTS=1 make",
    "sort -u names.txt",
    "http://localhost:8080/path",
    "the shpat_ prefix is Shopify's",
    "echo $PASSWORD_HINT",
    "password_field = form.cleaned_data['password']",
    "if password:",
    "def check_password(pw):",
    "docker login --password-stdin ghcr.io",
    "psql -h db --password -U app shop",
    "ffmpeg -i in.mp4 -pass 2 out.mp4",
    "first_pass = run_pass(tree)",
    "mytool --password $DB_PASSWORD",
    "<password>${env.NEXUS_PASSWORD}</password>",
    "pytest --pass-with-no-tests",
    "password: string;",
    "upward = 'northbound'",
]


@pytest.mark.parametrize(("text", "secret"), LEAKS)
def test_the_shapes_that_leaked_are_redacted(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out and "[REDACTED:" in out, out


@pytest.mark.parametrize("text", INNOCENT)
def test_look_alikes_stay_untouched(text: str) -> None:
    assert redact_text(text) == text


def test_a_private_key_printed_early_is_redacted_before_the_output_tail_is_cut(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from proactive_ls.config import parse_settings
    from proactive_ls.engine.driver import VirtualClock
    from proactive_ls.feedback.log import FeedbackLog
    from proactive_ls.inputs import TerminalInput
    from proactive_ls.session import OUTPUT_TAIL_CHARS, Session

    body = "\n".join("MIIEow" + "A" * 58 for _ in range(52))
    output = "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n" + "x" * (OUTPUT_TAIL_CHARS - 1000) + "\n"
    assert len(output) > OUTPUT_TAIL_CHARS  # the BEGIN line falls outside the kept tail

    async def nothing(result):  # type: ignore[no-untyped-def]
        return None

    session = Session(
        parse_settings({}), [tmp_path], nothing, driver=VirtualClock(100.0), feedback=FeedbackLog(tmp_path / "l.jsonl")
    )
    event = session._terminal_event(
        TerminalInput(command_line="cat key", cwd=str(tmp_path), exit_code=0, output=output), 100.0
    )
    assert "MIIEow" not in event.output_tail
