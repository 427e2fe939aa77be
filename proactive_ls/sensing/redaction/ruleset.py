"""Secrets found by a maintained rule set: gitleaks' default rules (``vendor/gitleaks.toml``, MIT).

Hand-written patterns age; gitleaks' rules are kept up to date by people who track provider token
formats. The file is loaded once at start-up. Its regexes are Go RE2 syntax: the few constructs
Python's ``re`` lacks are translated (an inline ``(?i)`` after the start becomes a scoped group,
``\\z`` becomes ``\\Z``, POSIX classes become ranges); a rule that still does not compile is skipped
and listed in :attr:`RuleSet.skipped`.

What of a rule is honoured: its ``keywords`` (a rule runs only on text that holds one, which is what
keeps redaction fast), its ``secretGroup`` (else the first non-empty group, as gitleaks does), its
``entropy`` minimum, and its allowlists' ``regexes`` and ``stopwords`` (targets ``secret``,
``match`` and ``line``). Path allowlists are not: redaction sees text, not files, and a secret is
removed wherever it shows up; for the same reason a rule restricted to some file names
(``path``, e.g. Terraform password fields) is skipped. The global allowlist's regexes and stopwords apply to every rule.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import tomllib
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# Texts up to this length are scanned whole by every rule whose keyword they hold; longer ones only
# in windows around the keywords, this far before and after (a match is near its keyword).
_WHOLE_TEXT = 8192
_BEFORE = 512
_AFTER = 4096

VENDORED = Path(__file__).parent / "vendor" / "gitleaks.toml"

_POSIX = {
    "[:alnum:]": "a-zA-Z0-9",
    "[:alpha:]": "a-zA-Z",
    "[:digit:]": "0-9",
    "[:lower:]": "a-z",
    "[:upper:]": "A-Z",
    "[:xdigit:]": "0-9A-Fa-f",
    "[:space:]": r"\s",
    "[:word:]": r"\w",
    "[:punct:]": r"!-/:-@\[-`{-~",
}
_CONTEXT = r"(?i)[\w.-]{0,50}?"
_INLINE_FLAGS = re.compile(r"\(\?([imsU-]+)\)")


class UntranslatableError(ValueError):
    """A Go regex with a construct this translator does not rewrite faithfully."""


def translate_re2(regex: str) -> str:
    """A Python ``re`` pattern that matches what the Go RE2 ``regex`` matches (for the constructs
    gitleaks uses). Raises :class:`UntranslatableError` where a faithful rewrite is not known."""
    regex = regex.replace(r"\z", r"\Z")
    for posix, rng in _POSIX.items():
        regex = regex.replace(posix, rng)
    out: list[str] = []
    # For each open group: how many scoped flag groups to close with it.
    pending: list[int] = [0]
    i, n = 0, len(regex)
    while i < n:
        c = regex[i]
        if c == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if c == "[":
            j = i + 1
            if j < n and regex[j] == "^":
                j += 1
            if j < n and regex[j] == "]":
                j += 1
            while j < n and regex[j] != "]":
                j += 2 if regex[j] == "\\" else 1
            out.append(regex[i : j + 1])
            i = j + 1
            continue
        m = _INLINE_FLAGS.match(regex, i)
        if m:
            if i == 0:
                out.append(m.group(0))  # a global flag at the very start: Python takes it as it is
            else:
                if "U" in m.group(1):
                    raise UntranslatableError("ungreedy flag")
                if _alternation_follows(regex, m.end()):
                    raise UntranslatableError("inline flag before an alternation")
                out.append(f"(?{m.group(1)}:")
                pending[-1] += 1
            i = m.end()
            continue
        if c == "(":
            pending.append(0)
            out.append(c)
        elif c == ")":
            out.append(")" * pending.pop())
            out.append(c)
        else:
            out.append(c)
        i += 1
    out.append(")" * pending.pop())
    return "".join(out)


def _alternation_follows(regex: str, start: int) -> bool:
    """Whether a ``|`` at the current group depth follows ``start`` (flags would reach it in Go)."""
    depth, i = 0, start
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i += 1
            while i < len(regex) and regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            if depth == 0:
                return False
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` (gitleaks' measure for its ``entropy`` minimum)."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(k / n * math.log2(k / n) for k in Counter(text).values())


@dataclass(frozen=True)
class _Allow:
    regexes: tuple[re.Pattern[str], ...]
    stopwords: tuple[str, ...]
    target: str  # "secret", "match" or "line"
    condition_and: bool

    def allows(self, secret: str, match: str, line: Callable[[], str]) -> bool:
        hay = secret if self.target == "secret" else match if self.target == "match" else line()
        by_regex = any(r.search(hay) for r in self.regexes) if self.regexes else None
        low = secret.lower()
        by_word = any(w in low for w in self.stopwords) if self.stopwords else None
        checks = [c for c in (by_regex, by_word) if c is not None]
        if not checks:
            return False
        return all(checks) if self.condition_and else any(checks)


@dataclass(frozen=True)
class Rule:
    """One gitleaks rule, compiled."""

    id: str
    regex: re.Pattern[str]
    keywords: tuple[str, ...]
    secret_group: int
    entropy: float
    allows: tuple[_Allow, ...] = ()
    #: The rule began with gitleaks' name context ``[\\w.-]{0,50}?``, dropped from the regex: a
    #: lazy prefix tried at every position costs ten times the rest of the rule. It only widens the
    #: ``match`` an allowlist sees, so it is put back there by scanning backwards.
    context_prefix: bool = False


@dataclass
class RuleSet:
    """The rules that compiled, those skipped (id, why), and the global allowlist."""

    rules: list[Rule]
    skipped: list[tuple[str, str]]
    global_allow: tuple[_Allow, ...] = ()
    keywords: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self.keywords = tuple(sorted({k for r in self.rules for k in r.keywords}))
        self._by_keyword: dict[str, list[int]] = {}
        for i, r in enumerate(self.rules):
            for k in r.keywords:
                self._by_keyword.setdefault(k, []).append(i)

    def redact(self, text: str, lowered: str) -> str:
        """``text`` with every secret a rule finds replaced by ``[REDACTED:<rule id>]``."""
        found = {k for k in self.keywords if k in lowered}
        if not found:
            return text
        windowed = len(text) > _WHOLE_TEXT and len(lowered) == len(text)
        for i in sorted({i for k in found for i in self._by_keyword[k]}):  # in the file's order
            rule = self.rules[i]
            hits = [k for k in rule.keywords if k in found]
            replace = functools.partial(self._replace, rule=rule, text=text)
            if not windowed:
                text = rule.regex.sub(replace, text)
                continue
            # A long text: the rule runs only around its keywords (which is what makes a rule set of
            # two hundred regexes affordable on a megabyte of output).
            pieces: list[str] = []
            at = 0
            for start, end in _windows(lowered, hits):
                pieces += [text[at:start], rule.regex.sub(replace, text[start:end])]
                at = end
            new = "".join([*pieces, text[at:]])
            if new != text:
                text, lowered = new, new.lower()
                windowed = len(lowered) == len(text)
        return text

    def _replace(self, m: re.Match[str], rule: Rule, text: str) -> str:
        g = rule.secret_group
        if not g:
            g = next((i for i in range(1, (m.re.groups or 0) + 1) if m.group(i)), 0)
        secret = m.group(g) or ""
        whole = m.group(0)
        start = m.start()
        if rule.context_prefix:
            while start > 0 and m.start() - start < 50 and (text[start - 1].isalnum() or text[start - 1] in "_.-"):
                start -= 1
            whole = text[start : m.end()]
        if not secret or "REDACTED" in secret:
            return m.group(0)
        if rule.entropy and shannon_entropy(secret) < rule.entropy:
            return m.group(0)
        if any(a.allows(secret, whole, _line(m)) for a in (*self.global_allow, *rule.allows)):
            return m.group(0)
        s, e = m.start(g) - m.start(), m.end(g) - m.start()
        return m.group(0)[:s] + f"[REDACTED:{rule.id}]" + m.group(0)[e:]


def _windows(lowered: str, keywords: list[str]) -> list[tuple[int, int]]:
    """Merged spans of ``lowered`` around each occurrence of a keyword."""
    spans: list[tuple[int, int]] = []
    for k in keywords:
        at = lowered.find(k)
        while at >= 0:
            spans.append((max(0, at - _BEFORE), min(len(lowered), at + len(k) + _AFTER)))
            at = lowered.find(k, at + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _line(m: re.Match[str]) -> Callable[[], str]:
    """The line of a match (at most 4 KiB either side), computed only if an allowlist asks."""

    def line() -> str:
        text = m.string
        start = text.rfind("\n", max(0, m.start() - 4096), m.start()) + 1
        end = text.find("\n", m.end(), m.end() + 4096)
        return text[start : end if end >= 0 else min(len(text), m.end() + 4096)]

    return line


def _compile(regex: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning (nested set) means a different meaning
        return re.compile(translate_re2(regex))


def _allowlist(spec: dict[str, object]) -> _Allow | None:
    raw = spec.get("regexes") or []
    words = spec.get("stopwords") or []
    if not raw and not words:
        return None  # a path-only allowlist: redaction has no path
    if spec.get("paths") and str(spec.get("condition", "OR")).upper() == "AND":
        return None  # holds only for some files: cannot be told from text, so never allow
    assert isinstance(raw, list) and isinstance(words, list)
    return _Allow(
        regexes=tuple(_compile(str(r)) for r in raw),
        stopwords=tuple(str(w).lower() for w in words),
        target=str(spec.get("regexTarget", "secret")),
        condition_and=str(spec.get("condition", "OR")).upper() == "AND",
    )


def load_ruleset(path: Path = VENDORED) -> RuleSet:
    """The rules of a gitleaks TOML file, compiled for Python."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    rules: list[Rule] = []
    skipped: list[tuple[str, str]] = []
    for spec in data.get("rules", []):
        rid = str(spec["id"])
        if "regex" not in spec:
            skipped.append((rid, "no regex (path-only rule)"))
            continue
        if "path" in spec:
            skipped.append((rid, "holds for some file names only; redaction sees text without a path"))
            continue
        source = str(spec["regex"])
        context_prefix = source.startswith(_CONTEXT)
        if context_prefix:
            source = "(?i)" + source[len(_CONTEXT) :]
        try:
            regex = _compile(source)
            allows = tuple(a for a in (_allowlist(s) for s in spec.get("allowlists", [])) if a)
        except (re.error, UntranslatableError, FutureWarning) as exc:
            skipped.append((rid, str(exc)))
            continue
        rules.append(
            Rule(
                id=rid,
                regex=regex,
                keywords=tuple(str(k).lower() for k in spec.get("keywords", [])),
                secret_group=int(spec.get("secretGroup", 0)),
                entropy=float(spec.get("entropy", 0.0)),
                allows=allows,
                context_prefix=context_prefix,
            )
        )
    glob = data.get("allowlist", {})
    global_allow = tuple(a for a in [_allowlist({k: v for k, v in glob.items() if k != "paths"})] if a)
    return RuleSet(rules=rules, skipped=skipped, global_allow=global_allow)


_LOADING = threading.Lock()


def vendored() -> RuleSet:
    """The vendored rule set, loaded once per process (the server loads it in a worker thread at
    start-up; an event that comes first waits for that load instead of compiling it again)."""
    with _LOADING:
        return _vendored()


@functools.cache
def _vendored() -> RuleSet:
    return load_ruleset()


__all__ = ["Rule", "RuleSet", "load_ruleset", "shannon_entropy", "translate_re2", "vendored"]
