"""Model output is data: bounded by the client, control sequences stripped, command: links as text."""

from __future__ import annotations

from proactive_ls.executor import parse_exec_answer
from proactive_ls.llm.sanitize import MARKDOWN_CHARS, MESSAGE_CHARS, TASK_CHARS, THOUGHTS_CHARS, clean
from proactive_ls.llm.schema import ModelAnswer

HOSTILE = (
    "Fix \x1b[2J\x1b[31mit\x1b[0m \x1b]8;;http://evil\x07here\x1b]8;;\x07 "
    "[run](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D) "
    "or command:workbench.action.openSettings \u202egnp.exe [docs](https://example.com)"
)


def test_escape_sequences_controls_and_command_links_are_removed_or_shown_as_text() -> None:
    out = clean(HOSTILE, 10_000)
    assert "\x1b" not in out and "\u202e" not in out
    assert "](command:" not in out and "command:" not in out  # shown as text, not a link or a scheme
    assert "run (command\u200b:workbench.action.terminal.sendSequence" in out
    assert "[docs](https://example.com)" in out  # ordinary links stay
    assert clean("line one\n\tline two", 100) == "line one\n\tline two"


def test_a_server_that_ignores_the_schema_is_bounded_by_the_client() -> None:
    answer = ModelAnswer.model_validate(
        {"Purpose": "p" * 50_000, "Thoughts": "t" * 100_000, "Proactive Task": "x" * 5_000, "Response": "r" * 2_000_000}
    )
    assert len(answer.proactive_task or "") == TASK_CHARS
    assert len(answer.thoughts) == THOUGHTS_CHARS and len(answer.response) == MESSAGE_CHARS
    assert len(answer.purpose) == MESSAGE_CHARS
    shown = ModelAnswer.model_validate({"Proactive Task": HOSTILE, "Response": HOSTILE})
    assert "\x1b" not in (shown.proactive_task or "") and "](command:" not in shown.response


def test_an_executed_answer_is_cleaned_too() -> None:
    import json

    md = parse_exec_answer(json.dumps({"kind": "markdown", "title": HOSTILE, "markdown": HOSTILE + "m" * 100_000}))
    assert "\x1b" not in md.title and len(md.markdown) == MARKDOWN_CHARS  # type: ignore[union-attr]
    assert "](command:" not in md.markdown  # type: ignore[union-attr]
