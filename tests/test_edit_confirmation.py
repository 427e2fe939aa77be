"""A model's edit is shown in full and applied only once the user confirms it; a model cannot ask
for an operation off the allowlist. Over the real server, with the fault server as the model and a
client that applies an edit to the file on disk only when it confirms it, as an editor would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from proactive_ls.edit_preview import apply_text_edits, edit_diff, unified_diff
from proactive_ls.executor import parse_exec_answer
from proactive_ls.llm.schema import AnswerError
from proactive_ls.lsp import confirm, protocol
from tests.conftest import run_pytest
from tests.fault_server import FaultServer
from tests.lsp_client import ProactiveClient, read_log, start_session

OLD = "    return sum(values) / len(values)\n"
NEW = "    return sum(values) / len(values) if values else 0.0\n"


def _edit_answer(project: Path) -> dict[str, Any]:
    line = (project / "calc.py").read_text().splitlines(keepends=True).index(OLD) + 1
    return {
        "kind": "edit",
        "label": "Guard \x1b[31maverage\x1b[0m against an empty list",
        "explanation": "An empty list divides by zero.",
        "edits": [{"document": "calc.py", "startLine": line, "endLine": line, "newText": NEW + "\u202e"}],
    }


async def _accept_model_edit(
    tmp_path: Path, project: Path, answer: dict[str, Any], annotations: bool, confirm_it: bool
) -> tuple[ProactiveClient, dict[str, Any], list[dict[str, Any]], str]:
    """Accept the model's task; the client confirms (or not) whatever it is asked to confirm."""
    model = FaultServer().start()
    model.answers["proactive_execution"] = answer
    log = tmp_path / "feedback.jsonl"
    calc = project / "calc.py"
    before = calc.read_text()
    settings = {"backend": "vllm", "judge": "none", "model": {"url": model.url, "name": model.model}}
    client = await start_session(project, log, settings=settings, edit_annotations=annotations)
    seen_on_disk: list[str] = []

    def editor(params: types.ApplyWorkspaceEditParams) -> bool:
        """Apply the edit to the file (as an editor applies and saves it) when the user confirms it."""
        seen_on_disk.append(calc.read_text())  # what the file held when the edit arrived
        if annotations and not confirm_it:
            return False  # the user discarded the Refactor Preview
        edit = client.protocol._converter.unstructure(params.edit)
        changes = edit.get("changes") or {d["textDocument"]["uri"]: d["edits"] for d in edit["documentChanges"]}
        calc.write_text(apply_text_edits(calc.read_text(), changes[calc.as_uri()]))
        return True

    client.edit_answer = editor
    client.answer = lambda params: (
        (confirm.APPLY if confirm_it else confirm.CANCEL)
        if confirm.APPLY in [a.title for a in params.actions or []]
        else None
    )
    try:
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=calc.as_uri(), language_id="python", version=1, text=before)
            )
        )
        code, output = run_pytest(project)
        client.protocol.notify(
            protocol.TERMINAL_COMMAND,
            {"commandLine": "python -m pytest", "cwd": str(project), "exitCode": code, "output": output},
        )
        proposal = await client.next_proposal()
        assert proposal["operation"]["kind"] == "model_task"
        result = await client.execute(protocol.COMMAND_ACCEPT, proposal["id"])
        assert all(text == before for text in seen_on_disk)  # nothing written before it was confirmed
    finally:
        await client.shutdown_session()
        model.stop()
    return client, result, read_log(log), before


@pytest.mark.parametrize("confirm_it", [False, True], ids=["discarded", "applied"])
async def test_a_client_with_change_annotations_gets_an_edit_that_needs_confirmation(
    tmp_path: Path, calc_project: Path, confirm_it: bool
) -> None:
    client, result, records, before = await _accept_model_edit(
        tmp_path, calc_project, _edit_answer(calc_project), annotations=True, confirm_it=confirm_it
    )
    [sent] = client.applied_edits  # one applyEdit: never a second one without the confirmation
    assert not [r for r in client.message_requests if confirm.APPLY in [a.title for a in r.actions or []]]
    edit = sent.edit
    assert edit.changes is None and edit.document_changes and edit.change_annotations
    annotation = edit.change_annotations[confirm.ANNOTATION_ID]
    assert annotation.needs_confirmation is True and annotation.label == "Guard average against an empty list"
    assert "proactive-ls" in (annotation.description or "")
    for change in edit.document_changes:
        assert isinstance(change, types.TextDocumentEdit)
        assert change.edits and all(
            isinstance(e, types.AnnotatedTextEdit) and e.annotation_id == confirm.ANNOTATION_ID for e in change.edits
        )
    [record] = [r for r in records if r["outcome"] == "accepted"]
    text = (calc_project / "calc.py").read_text()
    if confirm_it:
        assert result["applied"] is True and "declined" not in result and record["detail"] is None
        assert text == before.replace(OLD, NEW) and "\u202e" not in text
    else:
        assert result["applied"] is False and result["declined"] is True
        assert record["detail"] == "edit declined: not applied in the editor's preview"
        assert text == before


@pytest.mark.parametrize("confirm_it", [False, True], ids=["cancelled", "applied"])
async def test_a_client_without_annotations_is_shown_the_whole_diff_first(
    tmp_path: Path, calc_project: Path, confirm_it: bool
) -> None:
    client, result, records, before = await _accept_model_edit(
        tmp_path, calc_project, _edit_answer(calc_project), annotations=False, confirm_it=confirm_it
    )
    [preview] = [r for r in client.message_requests if confirm.APPLY in [a.title for a in r.actions or []]]
    assert [a.title for a in preview.actions or []] == [confirm.APPLY, confirm.CANCEL]
    assert f"-{OLD}+{NEW.rstrip()}" in preview.message and "--- a/calc.py\n+++ b/calc.py\n@@" in preview.message
    assert "\x1b" not in preview.message and "\u202e" not in preview.message  # the sanitizer ran
    assert "Guard average against an empty list" in preview.message
    [record] = [r for r in records if r["outcome"] == "accepted"]
    text = (calc_project / "calc.py").read_text()
    if confirm_it:
        [sent] = client.applied_edits  # sent only after Apply
        assert result["applied"] is True and record["detail"] is None
        assert text == before.replace(OLD, NEW)
    else:
        assert not client.applied_edits
        assert result == {**result, "applied": False, "declined": True}
        assert record["detail"] == "edit declined: Cancel in the preview"
        assert text == before


async def test_an_operation_off_the_allowlist_is_refused_and_nothing_runs(tmp_path: Path, calc_project: Path) -> None:
    marker = tmp_path / "ran"
    answer = {"kind": "run_command", "command": f"touch {marker}", "label": "Run it"}
    client, result, records, before = await _accept_model_edit(
        tmp_path, calc_project, answer, annotations=False, confirm_it=True
    )
    assert result["applied"] is False and not client.applied_edits and not marker.exists()
    [record] = [r for r in records if r["outcome"] == "accepted"]
    assert "not allowed" in record["detail"] and "run_command" in record["detail"]
    assert [m for m in client.messages if "could not carry out" in m.message and "not allowed" in m.message]
    assert (calc_project / "calc.py").read_text() == before


def test_the_allowlist_and_the_diff_at_the_function_level() -> None:
    with pytest.raises(AnswerError, match="not allowed"):
        parse_exec_answer('{"kind": "shell", "command": "rm -rf ~"}')
    answer = parse_exec_answer(
        '{"kind": "edit", "label": "l", "explanation": "", "edits": '
        '[{"document": "a.py", "startLine": 1, "endLine": 1, "newText": "x = 2\\u001b]8;;command:x\\u0007\\n"}]}'
    )
    assert answer.kind == "edit" and answer.edits[0].new_text == "x = 2\n"
    edit = {
        "changes": {
            "file:///w/a.py": [
                {
                    "range": {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}},
                    "newText": "x = 2\n",
                }
            ]
        }
    }
    diff = edit_diff(edit, lambda uri: "x = 1\ny = 😀\n", lambda uri: "a.py")
    assert diff == unified_diff("a.py", "x = 1\ny = 😀\n", "x = 2\ny = 😀\n")
    assert "-x = 1\n+x = 2\n" in diff
    # UTF-16 columns: the emoji counts two units.
    after = {"range": {"start": {"line": 1, "character": 6}, "end": {"line": 1, "character": 6}}, "newText": "!"}
    assert apply_text_edits("x = 1\ny = 😀\n", [after]) == "x = 1\ny = 😀!\n"
    with pytest.raises(ValueError, match="not known"):
        edit_diff(edit, lambda uri: None, lambda uri: "a.py")


async def test_an_edit_whose_file_left_the_workspace_is_refused_before_it_is_shown(tmp_path: Path) -> None:
    """Checked when it is carried out, not only when it was proposed: the file may have become a
    symlink to a file outside the workspace in between."""
    from proactive_ls.config import parse_settings
    from proactive_ls.engine.driver import VirtualClock
    from proactive_ls.events import Observation
    from proactive_ls.feedback.log import FeedbackLog
    from proactive_ls.proposals import ApplyEdit, Proposal, Suggestion
    from proactive_ls.proposers.base import ProposalContext
    from proactive_ls.session import Declined, Session

    root, outside = tmp_path / "ws", tmp_path / "outside.py"
    root.mkdir()
    target = root / "app.py"
    target.write_text("x = 1\n")
    outside.write_text("secret = 1\n")
    whole_line = {"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}}
    edit = {"changes": {target.as_uri(): [{"range": whole_line, "newText": "x = 2\n"}]}}

    class Editing:
        name = "editing"

        async def propose(self, ctx: ProposalContext) -> Suggestion | None:
            return Suggestion(task="Change x", message="change x?", operation=ApplyEdit(label="x", edit=edit))

        async def aclose(self) -> None:
            return None

    class Editor:
        def __init__(self) -> None:
            self.asked: list[ApplyEdit] = []

        async def open_location(self, op: object) -> bool:
            return True

        async def show_markdown(self, proposal: Proposal, op: object) -> bool:
            return True

        async def apply_edit(self, proposal: Proposal, op: ApplyEdit) -> bool | Declined:
            self.asked.append(op)
            return True

    async def on_tick(result: object) -> None:
        return None

    log = tmp_path / "log.jsonl"
    editor = Editor()
    settings = parse_settings({"quietPeriodMs": 100, "minIntervalS": 0, "maxPerHour": 100, "learning": False})
    session = Session(settings, [root], on_tick, driver=VirtualClock(10.0), feedback=FeedbackLog(log), actuator=editor)
    try:
        session.engine.proposer = Editing()
        session.engine.observe(Observation(time=10.0, text="a"), 10.0)
        [inside_then] = (await session.engine.tick(11.0)).proposals  # inside when it was proposed
        target.unlink()
        target.symlink_to(outside)
        result = await session.accept(inside_then.id)
    finally:
        await session.aclose()
    assert result["applied"] is False and editor.asked == []
    [record] = read_log(log)
    assert "outside the workspace" in record["detail"] and record["detail"].startswith("not carried out")
    assert outside.read_text() == "secret = 1\n"
