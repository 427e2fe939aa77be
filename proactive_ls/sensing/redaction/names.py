"""Secret-like names: whether a value assigned to a name (``password``, ``api_key``, ``dbToken``) is a
secret, and how strong that name's claim is.

Its own module because the naming vocabulary is a policy of its own, tuned on real code; the
assignment rules that use it (what a literal value looks like) live in ``assignments``.
"""

from __future__ import annotations

import functools
import re

# Names whose value is a secret. The name is split into lower-case words (snake, kebab, dotted and
# camelCase, trailing digits dropped); it is secret when its LAST word (or last two) says so, possibly
# followed by a word about the form of the value (``secret_value``, ``password_bytes``):
# ``token.markup`` and ``api_key_env`` are not secrets, ``SECRET_TOKEN`` and ``dbPassword`` are.
# Strong names take any literal of 3+ characters; weak names (token, auth, ...) are also common in
# ordinary code (lexers, HTTP helpers), so their literal must look random: 8+ characters, no space,
# letters and digits.
_STRONG_WORDS = {
    "password",
    "passwd",
    "pwd",
    "pw",
    "passphrase",
    "secret",
    "secrets",
    "apikey",
    "credential",
    "credentials",
    "privatekey",
    "accesskey",
    "secretkey",
    "passwort",
    "contrasena",
}
_WEAK_WORDS = {"pass", "token", "auth", "cookie", "sessionid", "sid"}
_STRONG_PAIRS = {
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("client", "secret"),
    ("app", "key"),
    ("license", "key"),
    ("account", "key"),
    ("auth", "key"),
    ("session", "key"),
}
_WEAK_PAIRS = {("session", "id")}
# ``pass`` alone is weak (``first_pass``, ``render_pass``), but after what it unlocks it is a password:
# ``DB_PASS``, ``smtp_pass``, ``adminPass``. So is any ``..._PASS`` in capitals (an environment variable).
_PASS_OWNERS = {
    "db", "database", "smtp", "mail", "email", "imap", "pop", "user", "admin", "root", "redis", "mysql",
    "postgres", "pg", "mongo", "ftp", "sftp", "ssh", "ldap", "login", "wifi", "vnc", "proxy", "app", "api",
    "bind", "keystore", "truststore", "store", "key", "rabbit", "rabbitmq", "amqp", "sql", "account", "master",
}  # fmt: skip
_FORM_WORDS = {"value", "val", "raw", "plain", "plaintext", "b64", "base64", "hex", "str", "bytes", "literal"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_SHOUTED = re.compile(r"[A-Z][A-Z0-9_]*")


def name_words(name: str) -> list[str]:
    """The lower-case words of ``name`` (snake, kebab, dotted and camelCase), trailing digits dropped."""
    words = [w.rstrip("0123456789") for w in _WORD_SPLIT.split(_CAMEL.sub("_", name).lower())]
    return [w for w in words if w]


@functools.lru_cache(maxsize=4096)
def secret_kind_of_name(name: str) -> tuple[str, bool] | None:
    """(kind, strong) when a value assigned to ``name`` is a secret: kind is 'password' or 'secret';
    strong names need no proof that the value is random. None for any other name."""
    words = name_words(name)
    if len(words) > 1 and words[-1] in _FORM_WORDS:
        words = words[:-1]
    if not words:
        return None
    last, pair = words[-1], tuple(words[-2:])
    strong = last in _STRONG_WORDS or pair in _STRONG_PAIRS
    if last == "pass" and len(words) > 1 and (words[-2] in _PASS_OWNERS or _SHOUTED.fullmatch(name)):
        strong = True
    if not strong and last not in _WEAK_WORDS and pair not in _WEAK_PAIRS:
        return None
    return ("password" if last.startswith(("pass", "pw")) else "secret"), strong
