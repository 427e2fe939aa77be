"""Secrets recognised by their shape: provider tokens, private key blocks, passwords in URLs and
``Authorization`` headers.

Kept apart from the assignment rules because these need no context: the text of a token is enough.
Every pattern is bounded (no nested or unbounded repetition over overlapping classes), so the cost is
linear in the text, and each one names literal needles so it runs only on text that can hold it.
"""

from __future__ import annotations

import re


class _Pattern:
    """One kind of secret: a regex, which group holds the secret (0 = all of it), and literal
    needles of which one must occur in the text for the regex to be worth running."""

    def __init__(self, kind: str, regex: str, group: int = 0, needles: tuple[str, ...] = (), flags: int = 0) -> None:
        self.kind = kind
        self.regex = re.compile(regex, flags)
        self.group = group
        self.needles = needles
        self.lower = bool(flags & re.IGNORECASE)

    def wanted(self, text: str, lowered: str) -> bool:
        if not self.needles:
            return True
        hay = lowered if self.lower else text
        return any(n in hay for n in self.needles)

    def sub(self, text: str) -> str:
        marker = f"[REDACTED:{self.kind}]"
        if self.group == 0:
            return self.regex.sub(marker, text)
        g = self.group

        def one(m: re.Match[str]) -> str:
            if m.group(g).startswith("[REDACTED:"):
                return m.group(0)  # a more precise kind was found already
            s, e = m.span(g)
            ms = m.start()
            whole = m.group(0)
            return whole[: s - ms] + marker + whole[e - ms :]

        return self.regex.sub(one, text)


def _start(n: int) -> str:
    """Placed right after a token's literal prefix of ``n`` characters: the prefix must not be inside a
    run of token characters. After, not before, so the regex keeps its literal-prefix fast search,
    and so a run like ``xoxb-xoxb-xoxb-...`` is scanned once, not once per position."""
    return rf"(?<![A-Za-z0-9_\-].{{{n}}})"


_END = r"(?![A-Za-z0-9_\-])"
_B64 = r"A-Za-z0-9+/"
_PKEY_HEAD = r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"

PATTERNS: list[_Pattern] = [
    # The header, the base64 (and Proc-Type-like header) lines after it, and the footer if present:
    # a block cut short by a bounded output tail is still removed.
    _Pattern(
        "private_key",
        _PKEY_HEAD + r"(?:[A-Za-z0-9+/=\s]|[A-Za-z-]{1,30}: [^\n]{0,200}\n){0,20000}"
        r"(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        needles=("PRIVATE KEY",),
    ),
    _Pattern(
        "aws_access_key_id",
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])" + _start(4) + r"[A-Z0-9]{16}\b",
        needles=("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
    ),
    _Pattern(
        "aws_secret_access_key",
        r"(aws_?secret_?(?:access_?)?key[\"']?\s{0,5}[:=]{1,2}\s{0,5}[\"']?)([" + _B64 + r"]{40})(?![" + _B64 + r"])",
        group=2,
        needles=("aws",),
        flags=re.IGNORECASE,
    ),
    _Pattern(
        "github_token",
        r"gh[pousr]_"
        + _start(4)
        + r"[A-Za-z0-9]{36,255}"
        + _END
        + r"|github_pat_"
        + _start(11)
        + r"[A-Za-z0-9_]{22,255}\b",
        needles=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _Pattern(
        "gitlab_token",
        r"gl(?:(?:pat|ptt|oas)-" + _start(6) + r"|(?:dt|rt)-" + _start(5) + r")[A-Za-z0-9_\-]{20,255}",
        needles=("glpat-", "gldt-", "glrt-", "glptt-", "gloas-"),
    ),
    _Pattern(
        "slack_webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]{20,255}",
        needles=("hooks.slack.com",),
    ),
    _Pattern("slack_token", r"xox[abposre]-" + _start(5) + r"[A-Za-z0-9\-]{10,255}", needles=("xox",)),
    _Pattern(
        "stripe_key", r"sk_(?:live|test)_" + _start(8) + r"[A-Za-z0-9]{16,255}\b", needles=("sk_live_", "sk_test_")
    ),
    _Pattern(
        "stripe_key", r"rk_(?:live|test)_" + _start(8) + r"[A-Za-z0-9]{16,255}\b", needles=("rk_live_", "rk_test_")
    ),
    _Pattern("stripe_key", r"whsec_" + _start(6) + r"[A-Za-z0-9]{24,255}\b", needles=("whsec_",)),
    _Pattern("anthropic_key", r"sk-ant-" + _start(7) + r"[A-Za-z0-9_\-]{20,255}", needles=("sk-ant-",)),
    _Pattern(
        "openai_key",
        r"sk-" + _start(3) + r"(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,255}|[A-Za-z0-9]{32,255}\b)",
        needles=("sk-",),
    ),
    _Pattern("google_api_key", r"AIza" + _start(4) + r"[0-9A-Za-z_\-]{35}" + _END, needles=("AIza",)),
    _Pattern(
        "google_oauth",
        r"ya29\." + _start(5) + r"[0-9A-Za-z_\-]{20,255}|GOCSPX-" + _start(7) + r"[0-9A-Za-z_\-]{20,255}",
        needles=("ya29.", "GOCSPX-"),
    ),
    _Pattern("huggingface_token", r"hf_" + _start(3) + r"[A-Za-z0-9]{30,255}\b", needles=("hf_",)),
    _Pattern("npm_token", r"npm_" + _start(4) + r"[A-Za-z0-9]{36}\b", needles=("npm_",)),
    _Pattern("pypi_token", r"pypi-AgE" + _start(8) + r"[A-Za-z0-9_\-]{50,1000}", needles=("pypi-",)),
    _Pattern("sendgrid_key", r"SG\." + _start(3) + r"[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}\b", needles=("SG.",)),
    _Pattern(
        "jwt",
        r"eyJ" + _start(3) + r"[A-Za-z0-9_\-]{8,4000}\.eyJ[A-Za-z0-9_\-]{8,8000}\.[A-Za-z0-9_\-]{0,1000}",
        needles=("eyJ",),
    ),
    _Pattern(
        "azure_key",
        r"((?:AccountKey|SharedAccessKey|SharedSecret|SharedAccessSignature)\s{0,3}=\s{0,3})(["
        + _B64
        + r"%]{16,500}={0,2})",
        group=2,
        needles=("AccountKey", "SharedAccess", "SharedSecret"),
    ),
    _Pattern("azure_sas", r"([?&]sig=)([A-Za-z0-9%+/=]{16,500})", group=2, needles=("sig=",)),
    # scheme://user:password@host: the user stays, the password goes.
    _Pattern("url_password", r"(://[^\s:/?#@'\"<>\[\]]{1,256}:)([^\s/?#@'\"<>]{1,256})@", group=2, needles=("://",)),
    _Pattern(
        "authorization",
        r"(authorization(?<![A-Za-z0-9_].{13})[\"']?\s{0,5}[:=]\s{0,5}[\"']?(?:bearer|basic|token|bot|digest|negotiate)?\s{0,5})([A-Za-z0-9._~+/=\-]{8,4000})",
        group=2,
        needles=("authorization",),
        flags=re.IGNORECASE,
    ),
    _Pattern(
        "bearer_token",
        r"(bearer(?<![A-Za-z0-9_].{6})\s{1,5})([A-Za-z0-9._~+/\-]{20,4000}=*)",
        group=2,
        needles=("bearer",),
        flags=re.IGNORECASE,
    ),
]
