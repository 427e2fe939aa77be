"""Secrets in command lines and URLs, and provider tokens the shape list lacked.

Command-line shapes (``mysql -pPASS``, ``--password VALUE`` and ``-storepass VALUE`` for any value, XML
``<password>VALUE</password>``, ``curl -u user:pass``, ``PGPASSWORD=...``, ``sshpass -p``,
``docker login -p``, ``.netrc`` lines, ``aws configure set aws_secret_access_key VALUE``), URL userinfo whose
password holds any character (``@``, ``#``, ``/`` included: up to the last ``@`` of the token),
secret-looking query-string keys, and the token formats of Shopify, DigitalOcean, Databricks,
Doppler, Twilio API keys and age, written after gitleaks' rules (github.com/gitleaks/gitleaks,
config/gitleaks.toml, MIT licence) for the same providers. Each pattern is anchored on a literal
so it stays linear on long outputs.
"""

from __future__ import annotations

import functools
import re

_V = r"[^\s'\"`]+"  # a value on a command line: up to the next blank or quote

_RULES: list[tuple[str, re.Pattern[str], int]] = [
    (
        "password",
        re.compile(r"\b(?:PGPASSWORD|MYSQL_PWD|REDISCLI_AUTH|SSHPASS|PASSWORD|PASSWD)=['\"]?(" + _V + ")"),
        1,
    ),
    ("password", re.compile(r"\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]{0,300}?\s-p(" + _V + ")"), 1),
    (
        "password",
        re.compile(
            r"\b(?:sshpass|docker\s+login|podman\s+login|helm\s+registry\s+login|nerdctl\s+login)\b"
            r"[^\n]{0,300}?\s(?:-p|--password)(?:=|\s+)['\"]?(" + _V + ")"
        ),
        1,
    ),
    (
        # Any flag that names a password (``--password``, ``--db-pass``, ``-storepass``, ``-passin``), at the
        # start of the text too, takes its value whatever it looks like: a short ``secret1`` as well. Not a
        # flag (``--password-stdin`` is one of its own), a next option (``psql --password -U bob``), a variable,
        # ``--no-pass`` or a pass number (``ffmpeg -pass 2``).
        "password",
        re.compile(
            r"(?<!\S)--?(?!no[-_])(?:[a-zA-Z0-9]{1,20}[-_]){0,3}(?:password|passwd|pass|pwd|(?:src|dest)?(?:store|key)pass|pass(?:in|out))"
            r"(?:=|[ \t]{1,8})['\"]?(?![-$]|\d{1,2}(?:\s|$))(" + _V + ")",
            re.IGNORECASE,
        ),
        1,
    ),
    (
        # ``<password>hunter2</password>`` (Maven settings.xml, .NET and Java XML config).
        "password",
        re.compile(
            r"<((?:[\w\-]{0,40}[._:\-])?(?:password|passwd|passphrase|secret|api[_\-]?key|private[_\-]?key))>"
            r"(?![$%{])([^<>\s]{1,500})</\1>",
            re.IGNORECASE,
        ),
        2,
    ),
    ("password", re.compile(r"\s(?:-u|--user)(?:=|\s+)['\"]?[^\s:'\"]{1,200}:(" + _V + ")"), 1),
    ("password", re.compile(r"\b(?:machine|login)\s+\S+\s+(?:login\s+\S+\s+)?password\s+(" + _V + ")"), 1),  # .netrc
    (
        "aws_secret_access_key",
        re.compile(r"\baws\s+configure\s+set\s+\S*(?:secret|token)\S*\s+['\"]?(" + _V + ")", re.IGNORECASE),
        1,
    ),
    ("url_password", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]{0,30}://[^\s:/@]{0,200}:(\S{1,500})@(?=[^\s@]+)"), 1),
    (
        "url_secret",
        re.compile(
            r"[?&](?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|client[_-]?secret|"
            r"password|passwd|pwd|sig|signature|key)=([^&\s#'\"]{4,})",
            re.IGNORECASE,
        ),
        1,
    ),
    ("shopify_token", re.compile(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"), 0),
    ("digitalocean_token", re.compile(r"\bdo[opr]_v1_[a-f0-9]{64}\b"), 0),
    ("databricks_token", re.compile(r"\bdapi[a-f0-9]{32}(?:-\d)?\b"), 0),
    ("doppler_token", re.compile(r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[a-zA-Z0-9]{40,44}\b"), 0),
    ("twilio_api_key", re.compile(r"\bSK[0-9a-fA-F]{32}\b"), 0),
    ("age_secret_key", re.compile(r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"), 0),
]

_NEEDLES = (
    "pass", "Pass", "PASS", "pwd", "PWD", "</", "mysql", "mariadb", "-u", "--user", "aws", "://", "=",
    "shp", "_v1_", "dapi", "dp.", "SK", "AGE-",
)  # fmt: skip


def redact_commands(text: str) -> str:
    """``text`` with the secrets of these shapes replaced by ``[REDACTED:<kind>]``."""
    if not any(n in text for n in _NEEDLES):
        return text
    for kind, pattern, group in _RULES:
        text = pattern.sub(functools.partial(_replace, kind=kind, group=group), text)
    return text


def _replace(m: re.Match[str], kind: str, group: int) -> str:
    value = m.group(group)
    if value.startswith("[REDACTED:"):
        return m.group(0)
    start, end = m.start(group) - m.start(0), m.end(group) - m.start(0)
    whole = m.group(0)
    return whole[:start] + f"[REDACTED:{kind}]" + whole[end:]


__all__ = ["redact_commands"]
