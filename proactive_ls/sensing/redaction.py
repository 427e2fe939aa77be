"""Redaction and exclusion: what may enter the history, the log and a model request.

Two separate protections, both applied by :meth:`Redactor.redact_event` to every event before the
engine keeps it:

* **Secrets** in any text (terminal output, failure titles, diagnostics, observations, even file
  names) are replaced with ``[REDACTED:<kind>]``: provider tokens recognised by their shape, private
  key blocks, passwords in URLs, ``Authorization`` headers, and the values assigned to secret-looking
  names (``password=...``, ``api_key: "..."``, ``.env`` lines). Every pattern is bounded (no nested
  or unbounded repetition over overlapping classes), so the cost is linear in the text.
* **Excluded files** (the ``exclude`` globs and, with ``respect_gitignore``, whatever the file's
  repository ignores) contribute no content at all: their events keep only that the file was
  touched. See docs/privacy.md for the exact fields kept.
"""

from __future__ import annotations

import functools
import logging
import re
import subprocess
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import git
from pydantic import BaseModel

from proactive_ls.config import DEFAULT_EXCLUDE
from proactive_ls.events import (
    DiagnosticsChanged,
    DocumentClosed,
    DocumentEdited,
    DocumentOpened,
    DocumentSaved,
    EventBase,
    GitBranchSwitched,
    GitCommitted,
    GitOperation,
    GitStaged,
    GitWorktreeChanged,
    Observation,
    SyntaxErrorFound,
    TerminalCommand,
)
from proactive_ls.sensing.paths import uri_to_path

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------------


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

_PATTERNS: list[_Pattern] = [
    # The header, the base64 (and Proc-Type-like header) lines after it, and the footer if present:
    # a block cut short by a bounded output tail is still removed.
    _Pattern(
        "private_key",
        _PKEY_HEAD
        + r"(?:[A-Za-z0-9+/=\s]|[A-Za-z-]{1,30}: [^\n]{0,200}\n){0,20000}(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
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
_FORM_WORDS = {"value", "val", "raw", "plain", "plaintext", "b64", "base64", "hex", "str", "bytes", "literal"}
_TYPE_WORDS = {
    "str",
    "string",
    "int",
    "integer",
    "bool",
    "boolean",
    "bytes",
    "float",
    "number",
    "any",
    "object",
    "none",
    "null",
    "nil",
    "undefined",
    "true",
    "false",
    "optional",
    "secretstr",
    "secretbytes",
    "char",
    "void",
    "text",
    "varchar",
    "self",
    "this",
    "required",
    "os",
    "env",
    "process",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")

_ASSIGN = re.compile(
    r"(?<![\w.$\-])(?!REDACTED:)(?:--?)?(?P<q>[\"']?)(?P<name>[A-Za-z_][\w.\-]{0,63}+)(?P=q)\]?(?P<sp1>[ \t]{0,8})"
    r"(?P<sep>=>|:=|==|!=|=|:)(?P<sp2>[ \t]{0,8})"
    r"(?P<value>\"[^\"\n]{0,500}\"|'[^'\n]{0,500}'|`[^`\n]{0,500}`|[^\s\"'`,;&()\[\]{}<>]{1,500})"
)
_ENV_LINE = re.compile(
    r"^(?P<lead>[ \t]{0,8}(?:export[ \t]{1,4})?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63})=)(?P<value>[^\n]{1,1000})$"
)
_ENV_LINES = re.compile(_ENV_LINE.pattern, re.MULTILINE)
_PLACEHOLDER = re.compile(
    r"^(?:\$\{?[\w.\-:]*\}?|\{\{.*\}\}|\{[\w.\-]*\}|<[^>]*>|%\(?\w*\)?s|x+|[\W_]*|.*\[REDACTED:[a-z_]+\].*)$",
    re.IGNORECASE,
)
_IDENT_CHAIN = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


def _name_words(name: str) -> list[str]:
    words = [w.rstrip("0123456789") for w in _WORD_SPLIT.split(_CAMEL.sub("_", name).lower())]
    return [w for w in words if w]


@functools.lru_cache(maxsize=4096)
def secret_kind_of_name(name: str) -> tuple[str, bool] | None:
    """(kind, strong) when a value assigned to ``name`` is a secret: kind is 'password' or 'secret';
    strong names need no proof that the value is random. None for any other name."""
    words = _name_words(name)
    if len(words) > 1 and words[-1] in _FORM_WORDS:
        words = words[:-1]
    if not words:
        return None
    last, pair = words[-1], tuple(words[-2:])
    strong = last in _STRONG_WORDS or pair in _STRONG_PAIRS
    if not strong and last not in _WEAK_WORDS and pair not in _WEAK_PAIRS:
        return None
    return ("password" if last.startswith(("pass", "pwd")) else "secret"), strong


def _looks_random(value: str) -> bool:
    return (
        len(value) >= 8
        and not any(c.isspace() for c in value)
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


def _assignment(m: re.Match[str]) -> str:
    name, sep, value = m.group("name"), m.group("sep"), m.group("value")
    if _CANDIDATE_LINE.search(name) is None:
        return m.group(0)
    found = secret_kind_of_name(name)
    if found is None:
        return m.group(0)
    kind, strong = found
    quoted = value[:1] in "\"'`"
    inner = value[1:-1] if quoted else value
    if (
        len(inner) < 3
        or _PLACEHOLDER.match(inner)
        or inner.lower() in _TYPE_WORDS
        or inner.startswith(("/", "~/", "./", "../"))
    ):
        return m.group(0)
    if not strong and not _looks_random(inner):
        return m.group(0)
    if sep in ("==", "!=") and not strong:
        return m.group(0)
    if not quoted:
        text, end = m.string, m.end()
        after = text[end : end + 1]
        if sep in ("==", "!=", "=>", ":="):
            return m.group(0)  # comparisons and code with an unquoted operand: a variable, not a literal
        if after in ("(", "[", ")", ",", "}", "]", "."):
            return m.group(0)  # a call, an index, the end of an argument list: code
        if _IDENT_CHAIN.match(inner) and _name_words(name)[-1] in _name_words(inner):
            return m.group(0)  # `password=password`, `token=self.token`: passing a variable on
        if sep == "=" and (m.group("sp1") or m.group("sp2")) and _IDENT_CHAIN.match(inner):
            return m.group(0)  # `password = form_password`: code
        if sep == ":":
            if not m.group("sp2"):
                return m.group(0)  # `a:b` is not `key: value`
            rest = text[end : end + 200].split("\n", 1)[0]  # bounded: a long line stays linear
            if rest.strip() and not rest.lstrip().startswith("#"):
                return m.group(0)  # `password: str = ...`: an annotation, not a YAML value
            if re.fullmatch(r"[A-Z][A-Za-z]*", inner) or (_IDENT_CHAIN.match(inner) and "." in inner):
                return m.group(0)  # a type name (`password: SecretStr`) or an attribute
    s = m.start("value") - m.start() + (1 if quoted else 0)
    e = s + len(inner)
    whole = m.group(0)
    return whole[:s] + f"[REDACTED:{kind}]" + whole[e:]


def _env_line(m: re.Match[str]) -> str:
    """``KEY=value with spaces`` in a .env file: all of the value goes."""
    found = secret_kind_of_name(m.group("name"))
    value = m.group("value").strip()
    inner = value.strip("\"'")
    if (
        found is None
        or not m.group("name").isupper()
        or "[REDACTED" in value
        or len(inner) < 3
        or _PLACEHOLDER.match(inner)
    ):
        return m.group(0)
    kind, strong = found
    if not strong and not _looks_random(inner):
        return m.group(0)
    if value[:1] in "\"'" and value[-1:] == value[:1]:
        return m.group("lead") + value[0] + f"[REDACTED:{kind}]" + value[0]
    return m.group("lead") + f"[REDACTED:{kind}]"


_CANDIDATE_WORDS = ("pass", "pwd", "secret", "token", "key", "credential", "auth", "cookie", "sid")
_CANDIDATE_LINE = re.compile("|".join(_CANDIDATE_WORDS), re.IGNORECASE)


def _candidate_positions(text: str) -> list[int]:
    """Where a secret-ish word occurs (str.find on the lower-cased text is many times faster than an
    IGNORECASE alternation)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a character whose lower case is longer: offsets would shift
        return [m.start() for m in _CANDIDATE_LINE.finditer(text)]
    found: list[int] = []
    for word in _CANDIDATE_WORDS:
        i = lowered.find(word)
        while i != -1:
            found.append(i)
            i = lowered.find(word, i + 1)
    found.sort()
    return found


def _redact_assignments(text: str) -> str:
    """Assignments can only be secret on lines naming a secret-ish word: run the two assignment
    regexes on those lines only (most lines of code have none)."""
    positions = _candidate_positions(text)
    if len(positions) * 200 > len(text):
        # Dense (every line names a secret-ish word): whole-text passes beat a Python loop per line.
        return _ASSIGN.sub(_assignment, _ENV_LINES.sub(_env_line, text))
    out: list[str] = []
    last = 0
    for pos in positions:
        if pos < last:
            continue
        ls = text.rfind("\n", 0, pos) + 1
        le = text.find("\n", pos)
        le = len(text) if le == -1 else le
        line = text[ls:le]
        if "=" in line:
            line = _ENV_LINE.sub(_env_line, line)
        line = _ASSIGN.sub(_assignment, line)
        out.append(text[last:ls])
        out.append(line)
        last = le + 1 if le < len(text) else le
        out.append(text[le:last])
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def redact_text(text: str) -> str:
    """Replace every secret found in ``text`` with ``[REDACTED:<kind>]``."""
    if not text:
        return text
    lowered = text.lower()
    for pattern in _PATTERNS:
        if pattern.wanted(text, lowered):
            text = pattern.sub(text)
    return _redact_assignments(text)


# ---------------------------------------------------------------------------------------------------
# Exclusion
# ---------------------------------------------------------------------------------------------------


def _glob_regex(glob: str) -> re.Pattern[str]:
    """A gitignore-like glob as a regex on a POSIX path: ``*`` and ``?`` stay within one
    component, ``**`` crosses them, ``[...]`` is a class (``[!...]`` negated)."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = glob[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


class _Glob:
    def __init__(self, glob: str) -> None:
        self.text = glob
        stripped = glob.strip().rstrip("/")
        self.anchored = "/" in stripped
        self.regex = _glob_regex(stripped.lstrip("/"))

    def matches(self, rel: PurePosixPath) -> bool:
        if self.anchored:
            return self.regex.fullmatch(rel.as_posix()) is not None
        return any(self.regex.fullmatch(part) for part in rel.parts if part != "/")


_GITIGNORE_CACHE_SIZE = 4096


class Redactor:
    """Redacts secrets from text and events, and decides which files are excluded.

    Thread-safe for reading once built, except the gitignore cache (one caller at a time).
    """

    def __init__(
        self,
        exclude: list[str] | None = None,
        respect_gitignore: bool = True,
        redact_secrets: bool = True,
        roots: list[Path] | None = None,
    ) -> None:
        self.exclude = list(DEFAULT_EXCLUDE if exclude is None else exclude)
        self.respect_gitignore = respect_gitignore
        self.redact_secrets = redact_secrets
        self.roots = [Path(r).absolute() for r in roots or []]
        self._globs = [_Glob(g) for g in self.exclude if g.strip()]
        self._repo_of_dir: OrderedDict[Path, Path | None] = OrderedDict()
        self._ignored: OrderedDict[tuple[Path, str], tuple[tuple[int, ...], bool]] = OrderedDict()

    # -- text -------------------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with secrets replaced by ``[REDACTED:<kind>]`` (unchanged when redaction is off)."""
        return redact_text(text) if self.redact_secrets else text

    # -- paths ------------------------------------------------------------------------------------

    def is_excluded(self, path: Path | str) -> bool:
        """True for a file whose content must never be kept: a configured glob matches its basename
        (or a folder name on its path), or its path relative to a root; or its repository ignores it."""
        return self.is_excluded_many([path])[0]

    def is_excluded_many(self, paths: Iterable[Path | str]) -> list[bool]:
        """:meth:`is_excluded` for many paths, asking git once per repository for the uncached ones."""
        resolved = [self._to_path(p) for p in paths]
        result = [p is not None and self._glob_excluded(p) for p in resolved]
        if self.respect_gitignore:
            todo = [(i, p) for i, p in enumerate(resolved) if p is not None and not result[i] and p.is_absolute()]
            for i, ignored in self._gitignored(todo):
                result[i] = ignored
        return result

    def _to_path(self, path: Path | str) -> Path | None:
        if isinstance(path, str):
            if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]+:", path) and not re.match(r"^[A-Za-z]:[\\/]", path):
                return uri_to_path(path)  # file:// URIs; untitled: and other schemes have no file
            path = Path(path)
        if not path.is_absolute():
            for root in self.roots:
                if (root / path).exists():
                    return root / path
            return self.roots[0] / path if self.roots else path
        return path

    def _relative(self, path: Path) -> PurePosixPath:
        for root in self.roots:
            try:
                return PurePosixPath(path.relative_to(root).as_posix())
            except ValueError:
                continue
        if path.is_absolute():
            return PurePosixPath(path.name)  # outside every root: only the basename is meaningful
        return PurePosixPath(path.as_posix())

    def _glob_excluded(self, path: Path) -> bool:
        rel = self._relative(path)
        return any(g.matches(rel) for g in self._globs)

    def _repo_root(self, directory: Path) -> Path | None:
        if directory in self._repo_of_dir:
            self._repo_of_dir.move_to_end(directory)
            return self._repo_of_dir[directory]
        root: Path | None = None
        for d in (directory, *directory.parents):
            if d.name == ".git":
                break  # inside a git dir: git's own files, not the work tree
            if (d / ".git").exists():
                root = d
                break
        self._repo_of_dir[directory] = root
        if len(self._repo_of_dir) > _GITIGNORE_CACHE_SIZE:
            self._repo_of_dir.popitem(last=False)
        return root

    @staticmethod
    def _ignore_stamps(root: Path, rel: PurePosixPath) -> tuple[int, ...]:
        """mtimes of every ignore file that can decide about ``rel``: a change invalidates the cache."""
        files = [root / ".git" / "info" / "exclude", root / ".gitignore"]
        d = root
        for part in rel.parts[:-1]:
            d = d / part
            files.append(d / ".gitignore")
        stamps = []
        for f in files:
            try:
                stamps.append(f.stat().st_mtime_ns)
            except OSError:
                stamps.append(-1)
        return tuple(stamps)

    def _gitignored(self, todo: list[tuple[int, Path]]) -> list[tuple[int, bool]]:
        out: list[tuple[int, bool]] = []
        ask: dict[Path, list[tuple[int, str, tuple[int, ...]]]] = {}
        for i, path in todo:
            root = self._repo_root(path.parent)
            if root is None:
                continue
            try:
                relpath = PurePosixPath(path.relative_to(root).as_posix())
            except ValueError:
                continue
            stamps = self._ignore_stamps(root, relpath)
            key = (root, relpath.as_posix())
            cached = self._ignored.get(key)
            if cached is not None and cached[0] == stamps:
                self._ignored.move_to_end(key)
                out.append((i, cached[1]))
            else:
                ask.setdefault(root, []).append((i, key[1], stamps))
        for root, items in ask.items():
            ignored = self._check_ignore(root, sorted({rel for _, rel, _ in items}))
            for i, rel, stamps in items:
                value = rel in ignored
                self._ignored[(root, rel)] = (stamps, value)
                out.append((i, value))
            while len(self._ignored) > _GITIGNORE_CACHE_SIZE:
                self._ignored.popitem(last=False)
        return out

    @staticmethod
    def _check_ignore(root: Path, rels: list[str]) -> set[str]:
        """The paths among ``rels`` that git ignores in the repository at ``root`` (tracked files are
        never ignored): one ``git check-ignore --stdin -z`` for all of them."""
        runner = git.Git(str(root))
        handle = runner.execute(["git", "check-ignore", "--stdin", "-z"], istream=subprocess.PIPE, as_process=True)
        proc = handle.proc
        assert proc is not None
        try:
            stdout, stderr = proc.communicate("\0".join(rels).encode() + b"\0", timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            log.warning("git check-ignore timed out in %s", root)
            return set()
        if proc.returncode not in (0, 1):  # 1: none of them is ignored
            log.warning("git check-ignore failed in %s: %s", root, stderr.decode(errors="replace").strip())
            return set()
        return {p for p in stdout.decode("utf-8", "surrogateescape").split("\0") if p}

    # -- events -----------------------------------------------------------------------------------

    def redact_event(self, event: EventBase) -> EventBase | None:
        """A copy of ``event`` safe to keep: contentless if it concerns an excluded file (None when
        nothing but content is in it), and with every string redacted."""
        stripped: EventBase | None = event
        concerned = [p for p in (event.uri, event.path) if p]
        if concerned and any(self.is_excluded_many(concerned)):
            stripped = _without_content(event)
        elif isinstance(event, TerminalCommand) and event.output_tail and self._names_excluded_file(event.command_line):
            stripped = event.model_copy(update={"output_tail": ""})
        if stripped is None or not self.redact_secrets:
            return stripped
        return _redact_model(stripped)

    def _names_excluded_file(self, command_line: str) -> bool:
        """Whether a command mentions an excluded file by name (``cat .env``): its output is its content."""
        for token in command_line.split():
            token = token.strip("\"'<>|;&()")
            if token and not token.startswith("-") and any(g.matches(PurePosixPath(token)) for g in self._globs):
                return True
        return False


# What is kept of an event about an excluded file: the fields below are removed (set to empty).
_CONTENT_FIELDS: dict[type[EventBase], dict[str, Any]] = {
    DocumentOpened: {},
    DocumentSaved: {},
    DocumentClosed: {},
    DocumentEdited: {"definitions": [], "added": [], "removed": [], "renamed": []},
    DiagnosticsChanged: {"first_error": None, "items": []},
    SyntaxErrorFound: {"missing": None},
    TerminalCommand: {"output_tail": "", "failure": None},
    GitBranchSwitched: {},
    GitCommitted: {},
    GitStaged: {},
    GitOperation: {},
    GitWorktreeChanged: {},
}


def _without_content(event: EventBase) -> EventBase | None:
    """Only the fact that the file was touched. Observations (free text) and event kinds this
    module does not know are dropped: nothing in them can be told apart from content."""
    update = _CONTENT_FIELDS.get(type(event))
    if update is None or isinstance(event, Observation):
        return None
    return event.model_copy(update=update) if update else event


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, BaseModel):
        return _redact_model(value)
    if isinstance(value, list):
        items = [_redact_value(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value)) else value
    if isinstance(value, tuple):
        items_t = tuple(_redact_value(v) for v in value)
        return items_t if any(a is not b for a, b in zip(items_t, value)) else value
    return value


def _redact_model(model: Any) -> Any:
    update: dict[str, Any] = {}
    for name in type(model).model_fields:
        if name == "kind":
            continue
        old = getattr(model, name)
        new = _redact_value(old)
        if new is not old and new != old:
            update[name] = new
    return model.model_copy(update=update) if update else model
