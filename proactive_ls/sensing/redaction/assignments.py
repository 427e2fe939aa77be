"""Assignments of secrets: ``password=...``, ``api_key: "..."``, ``--token=...`` options and
``.env`` lines, where the name says "secret" and the value looks like a literal, not code.

Its own module because telling a secret literal from ordinary code (a variable, a call, a type
annotation, a placeholder) is the delicate part of redaction; which names count is ``names``' job.
Only lines naming a secret-ish word are examined, so ordinary code costs one fast scan.
"""

from __future__ import annotations

import re

from proactive_ls.sensing.redaction.names import name_words, secret_kind_of_name

# A value that is one of these words is a type, a keyword or a namespace, not a literal.
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

_CANDIDATE_WORDS = ("pass", "pw", "secret", "token", "key", "credential", "auth", "cookie", "sid")

# The name must hold a secret-ish word (the lookahead): a match on another name would swallow the
# assignment in its value, ``saw: password=hunter2`` being read as ``saw`` set to ``password=hunter2``.
_ASSIGN = re.compile(
    r"(?<![\w.$\-])(?!REDACTED:)(?:--?)?(?P<q>[\"']?)"
    r"(?=[\w.\-]{0,60}?(?i:"
    + "|".join(_CANDIDATE_WORDS)
    + r"))(?P<name>[A-Za-z_][\w.\-]{0,63}+)(?P=q)\]?(?P<sp1>[ \t]{0,8})"
    r"(?P<sep>=>|:=|==|!=|=|:)(?P<sp2>[ \t]{0,8})"
    r"(?P<value>\"[^\"\n]{0,500}\"|'[^'\n]{0,500}'|`[^`\n]{0,500}`|[^\s\"'`,;&()\[\]{}<>]{1,500})"
)
_ENV_LINE = re.compile(
    r"^(?P<lead>[ \t]{0,8}(?:export[ \t]{1,4})?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,63})=)(?P<value>[^\n]{1,1000})$"
)
_ENV_LINES = re.compile(_ENV_LINE.pattern, re.MULTILINE)
_PLACEHOLDER = re.compile(
    r"^(?:\$\{?[\w.\-:]*\}?|\{\{.*\}\}|\{[\w.\-]*\}|<[^>]*>|%\(?\w*\)?s|x+|[\W_]*|.*\[REDACTED:[a-z0-9_\-]+\].*"
    r"|(?:your|my)[-_ ][\w\- ]{0,40}|changeme|placeholder|dummy)$",
    re.IGNORECASE,
)
_IDENT_CHAIN = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")


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
        if _IDENT_CHAIN.match(inner) and name_words(name)[-1] in name_words(inner):
            return m.group(0)  # `password=password`, `token=self.token`: passing a variable on
        if sep == "=" and (m.group("sp1") or m.group("sp2")) and _IDENT_CHAIN.match(inner):
            return m.group(0)  # `password = form_password`: code
        if sep == ":":
            if not m.group("sp2"):
                return m.group(0)  # `a:b` is not `key: value`
            rest = text[end : end + 200].split("\n", 1)[0]  # bounded: a long line stays linear
            if rest.strip() and not rest.lstrip().startswith(("#", ";", "&&", "||")):
                return m.group(0)  # `password: str = ...`: an annotation, not a YAML value (`; next` ends a command)
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


def redact_assignments(text: str) -> str:
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
