"""One finished command as the reporter writes it: a JSON object on one line."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

MAX_LINE_BYTES = 256 * 1024
MAX_OUTPUT_CHARS = 64 * 1024


class ShellReport(BaseModel):
    """What a shell says about a command that just finished (camelCase on the wire)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    command_line: str = Field(min_length=1, max_length=10_000)
    cwd: str = Field(min_length=1, max_length=4096, description="absolute: the server keeps commands of its workspace")
    exit_code: int | None = Field(default=None, ge=-(2**31), le=2**31)
    duration_ms: int | None = Field(default=None, ge=0, le=2**53)
    output: str = Field(default="", max_length=MAX_OUTPUT_CHARS)
    shell: str | None = Field(default=None, max_length=32)

    @field_validator("cwd")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not os.path.isabs(value) or "\0" in value:
            raise ValueError("cwd must be an absolute path")
        return value
