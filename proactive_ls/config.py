"""Settings: one validated model, read from initializationOptions, didChangeConfiguration and the CLI.

Names are camelCase on the wire (as editors write them) and snake_case in Python.
Every setting is documented in docs/configuration.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import AliasGenerator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from proactive_ls.local_settings import FEEDBACK_LOG_ENV

APP_NAME = "proactive-ls"

DEFAULT_EXCLUDE = [
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.crt",
    "*.cer",
    "id_rsa*",
    "id_ed25519*",
    "id_ecdsa*",
    "*.keystore",
    "*.jks",
    ".netrc",
    ".pgpass",
    "credentials*",
    "secrets.*",
    # credential files and folders of the usual tools (a folder name matches every file under it)
    ".ssh",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".aws",
    ".azure",
    "gcloud",
    ".kube",
    ".docker",
    ".gnupg",
]

SYNTAX_ERROR_LANGUAGES = ["python", "go", "javascript", "rust", "java"]
"""Grammars whose tree-sitter parse of valid real code had errors in at most 1% of files
(scripts/measure-syntax-misparse.py, figures in docs/evaluation.md). TypeScript (1.3%), TSX
(25%), C (23-39%) and C++ (67%) are left out by default: their proposals would often be false."""


class _Settings(BaseModel):
    model_config = ConfigDict(
        alias_generator=AliasGenerator(validation_alias=to_camel, serialization_alias=to_camel),
        populate_by_name=True,
        extra="forbid",
    )


class ModelEndpoint(_Settings):
    """An OpenAI-compatible endpoint (vLLM) and the model or LoRA adapter to ask."""

    url: str = "http://127.0.0.1:8000/v1"
    name: str = Field(min_length=1)
    api_key_env: str | None = Field(default=None, description="environment variable holding the API key")
    timeout_s: float = Field(default=20.0, gt=0, le=600)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_tokens: int = Field(default=256, ge=16, le=8192)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    history_token_budget: int = Field(
        default=1536, ge=128, description="the event history is cut to fit this many tokens"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")


class Settings(_Settings):
    enabled: bool = Field(default=True, description="false: events are still watched, nothing is proposed")
    mode: Literal["auto", "manual"] = Field(
        default="auto", description='"manual": propose only when asked (the proactive.proposeNow command)'
    )
    announce: Literal["message", "request", "none"] = Field(
        default="message",
        description="how a client without the proposals capability hears of a proposal: a non-blocking "
        '`window/showMessage` ("message"), the modal `window/showMessageRequest` with buttons ("request"), '
        'or only the code action ("none")',
    )
    backend: Literal["local", "vllm"] = "local"
    judge: Literal["auto", "none", "gate", "vllm"] = Field(
        default="auto", description='"auto": the gate for a model backend, none for the embedded rules'
    )
    eagerness: Literal["quiet", "normal", "eager"] = Field(
        default="normal", description="how high the gate sets its bar"
    )
    gate_threshold: float | None = Field(default=None, ge=0.0, le=1.0, description="overrides the eagerness bar")
    gate_model: Path | None = Field(
        default=None,
        description="the gate model file; default: your retrained model (train-gate) if valid, else the packaged one",
    )
    learning: bool = Field(default=True, description="learn from your answers which kinds of proposal to show you")
    feedback_log: Path | None = Field(
        default=None,
        description="where outcomes are written; from the client only inside the data folder or a workspace "
        "folder (elsewhere: serve --feedback-log or PROACTIVE_LS_FEEDBACK_LOG)",
    )
    quiet_period_ms: int = Field(
        default=1500, ge=0, le=600_000, description="silence after the last event before the proposer is asked"
    )
    edit_quiet_ms: int = Field(
        default=800,
        ge=0,
        le=600_000,
        description="a burst of changes in one document becomes one edit event after this",
    )
    ignore_after_s: float = Field(
        default=120.0, gt=0, description="an unanswered proposal is recorded as ignored after this"
    )
    min_interval_s: float = Field(default=20.0, ge=0, description="at least this long between two proposals")
    reject_cooldown_s: float = Field(default=120.0, ge=0, description="no proposal for this long after a rejection")
    reject_memory_s: float = Field(
        default=3600.0, ge=0, description="a rejected task is not proposed again for this long"
    )
    max_per_hour: int = Field(default=12, ge=0, le=3600)
    history_limit: int = Field(default=60, ge=1, le=10_000, description="events kept in the history")
    exclude: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        description="globs of files whose content never enters the history (replaces the defaults)",
    )
    exclude_extra: list[str] = Field(
        default_factory=list, description="more globs to exclude, on top of `exclude` (keeps the defaults)"
    )
    retain_days: float | None = Field(
        default=None, gt=0, description="feedback records older than this many days are purged (default: kept)"
    )
    rotate_mb: float | None = Field(
        default=64.0,
        gt=0,
        description="the feedback log is rotated into a dated segment once it holds this many MB (null: never)",
    )
    respect_gitignore: bool = True
    redact_secrets: bool = True
    max_document_bytes: int = Field(
        default=5_000_000, ge=1024, description="larger or binary documents are tracked without content"
    )
    model: ModelEndpoint | None = None
    judge_model: ModelEndpoint | None = None
    git_poll_s: float = Field(
        default=2.0, gt=0, description="how often git state files are checked when the client cannot watch them"
    )
    syntax_error_languages: list[str] = Field(
        default_factory=lambda: list(SYNTAX_ERROR_LANGUAGES),
        description="grammars whose syntax errors are proposed: python go javascript typescript tsx rust java c cpp",
    )
    show_unparsed_failures: bool = Field(
        default=False,
        description="a failing command whose output no parser understands still offers to show its last lines",
    )

    @field_validator("feedback_log", "gate_model", mode="before")
    @classmethod
    def _expand(cls, v: Any) -> Any:
        if isinstance(v, str) and v:
            return Path(v).expanduser()
        return v or None

    def feedback_log_path(self) -> Path:
        return self.feedback_log or default_feedback_log()

    def exclude_globs(self) -> list[str]:
        """`exclude` and `excludeExtra` together, each glob once."""
        return list(dict.fromkeys([*self.exclude, *self.exclude_extra]))


class SettingsError(ValueError):
    """Invalid settings, with a message fit to show the user."""


def parse_settings(data: dict[str, Any] | None) -> Settings:
    try:
        return Settings.model_validate(data or {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{where}: {err['msg']}")
        raise SettingsError("Invalid proactive-ls settings: " + "; ".join(problems)) from exc


def _inside(path: Path, folders: Sequence[Path]) -> bool:
    resolved = path.resolve()  # symlinks resolved: a link in the workspace to ~/.bashrc is outside
    return any(resolved.is_relative_to(folder.resolve()) for folder in folders)


def check_wire_log(options: dict[str, Any], roots: Sequence[Path] = ()) -> None:
    """A ``feedbackLog`` sent by the client must lie in the data folder or a workspace folder (after
    resolving symlinks) and name a feedback log: a ``.jsonl`` file that is empty, new, or already
    starts with a JSON record. A client cannot make the server append to ``~/.bashrc``; a path
    elsewhere needs the user's local choice (:func:`local_overrides`), which is not checked."""
    raw = options.get("feedbackLog", options.get("feedback_log"))
    if not isinstance(raw, str) or not raw:
        return
    path = Path(raw).expanduser()
    local = f"set it on this machine with `serve --feedback-log` or {FEEDBACK_LOG_ENV}"
    if not _inside(path, [data_dir(), *roots]):
        raise SettingsError(
            f"feedbackLog {raw!r} is outside the data folder ({data_dir()}) and the workspace folders; "
            f"a client cannot choose that ({local}); using {default_feedback_log()}"
        )
    if path.suffix != ".jsonl":
        raise SettingsError(f"feedbackLog must be a .jsonl file, got {raw!r} ({local})")
    try:
        if path.is_file() and path.stat().st_size > 0:
            with open(path, "rb") as f:
                first = f.readline(65536).strip()
            if not (first.startswith(b"{") and first.endswith(b"}")):
                raise SettingsError(f"feedbackLog {raw!r} is a file that is not a feedback log; not appending to it")
    except OSError:
        return  # unreadable: the log itself will say so when it writes


def parse_settings_lenient(data: dict[str, Any] | None) -> tuple[Settings, list[tuple[str, str]]]:
    """The settings with every unknown or invalid key left out, and the (key, problem) of each.

    One bad key must not cost the user every other setting: it is dropped on its own (a nested
    object such as `model` is dropped whole) and the rest applies.
    """
    remaining = dict(data or {})
    problems: list[tuple[str, str]] = []
    for _ in range(len(remaining) + 1):
        try:
            return Settings.model_validate(remaining), problems
        except ValidationError as exc:
            bad: dict[str, str] = {}
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                if key not in remaining:
                    continue
                if key not in bad:
                    where = ".".join(str(p) for p in err["loc"][1:])
                    msg = "unknown setting" if err["type"] == "extra_forbidden" else err["msg"]
                    bad[key] = f"{where}: {msg}" if where else msg
            if not bad:  # nothing to blame on one key: fall back to the defaults
                return Settings(), [*problems, ("settings", str(exc.errors()[0]["msg"]))]
            for key, problem in bad.items():
                remaining.pop(key)
                problems.append((key, problem))
    return Settings(), problems


def unwrap_pulled(result: Any) -> dict[str, Any] | None:
    """One answer to ``workspace/configuration`` for section ``proactive``, as settings.

    Editors that keep the server's settings in a ``proactive.settings`` object beside their own
    client options (the VS Code extension) answer ``{"settings": {...}, "serverCommand": ...}``:
    the nested object is the settings then.
    """
    if not isinstance(result, dict):
        return None
    nested = result.get("settings")
    if isinstance(nested, dict) and not any(k in Settings.model_fields or k in _ALIASES for k in result):
        return nested
    return result


class SettingsLayers:
    """Where the settings come from, in order: the client's options, then the command line's overrides.

    The client sends its options at initialize and changes to them later; the overrides
    (``serve --feedback-log``) always win.
    """

    SECTIONS = ("proactive", "proactive-ls")

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self.options: dict[str, Any] = {}
        self.roots: list[Path] = []  # where a client's feedbackLog may lie, besides the data folder
        self.reported: set[tuple[str, str]] = set()
        #: What the last :meth:`changed` left out, not reported before (for the server to tell).
        self.problem: str | None = None

    def initial(self, options: Any, roots: Sequence[Path] = ()) -> tuple[Settings, str | None]:
        """The settings at initialize, and what to report of the client's options that were left out.
        ``roots``: the workspace folders (a client's ``feedbackLog`` may lie in one)."""
        self.roots = list(roots)
        self.options = dict(options) if isinstance(options, dict) else {}
        problems = self._checked_log(self.options)
        settings, more = parse_settings_lenient({**self.options, **self.overrides})
        return settings, self._report(problems + more)

    def _checked_log(self, options: dict[str, Any]) -> list[tuple[str, str]]:
        """A client's ``feedbackLog`` that names no feedback log is left out (and reported) on its own."""
        if "feedbackLog" in self.overrides:
            return []
        try:
            check_wire_log(options, self.roots)
        except SettingsError as exc:
            options.pop("feedbackLog", None)
            options.pop("feedback_log", None)
            return [("feedbackLog", str(exc))]
        return []

    def _report(self, problems: list[tuple[str, str]]) -> str | None:
        """A message naming the keys left out that were not reported yet (each is reported once)."""
        fresh = [(k, p) for k, p in problems if (k, p) not in self.reported]
        self.reported.update(fresh)
        if not fresh:
            return None
        named = "; ".join(f"`{k}` ({p})" for k, p in fresh)
        plural = "s" if len(fresh) > 1 else ""
        return f"proactive-ls ignored the setting{plural} {named}; the other settings apply"

    def defaults(self) -> Settings:
        return parse_settings(self.overrides)

    def changed(self, raw: Any) -> tuple[Settings, dict[str, Any]]:
        """The settings after a didChangeConfiguration (``{"proactive": {...}}`` or the object itself).

        Returns them with the options to :meth:`commit` once they are in use; raises SettingsError.
        """
        if isinstance(raw, dict):
            for section in self.SECTIONS:
                if section in raw:
                    raw = raw[section]
                    break
        if not isinstance(raw, dict):
            raise SettingsError("proactive-ls settings must be an object")
        if "feedbackLog" not in self.overrides:
            check_wire_log(raw, self.roots)  # a change that points the log at another file is refused whole
        options = {**self.options, **raw}
        settings, problems = parse_settings_lenient({**options, **self.overrides})
        self.problem = self._report(problems)
        return settings, options

    def commit(self, options: dict[str, Any]) -> None:
        self.options = options


_ALIASES = {to_camel(name) for name in Settings.model_fields}


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_feedback_log() -> Path:
    return data_dir() / "feedback.jsonl"


def read_settings_file(path: Path) -> dict[str, Any]:
    """The settings object in a JSON file (``initializationOptions`` itself, or an object holding it).

    Raises SettingsError with a one-line message for a missing file, bad JSON or a non-object.
    """
    import json

    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such settings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("initializationOptions"), dict):
        data = data["initializationOptions"]
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a JSON object of settings, found {type(data).__name__}")
    return data
