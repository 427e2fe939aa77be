"""Bad input gets a clear error and loses nothing: the server keeps serving."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from proactive_ls.lsp import protocol
from tests.conftest import run_pytest
from tests.lsp_client import read_log, start_session


async def test_garbage_on_the_wire_does_not_stop_the_server(tmp_path: Path, calc_project: Path) -> None:
    client = await start_session(calc_project, tmp_path / "log.jsonl")
    try:
        stdin = client._server.stdin  # type: ignore[union-attr]
        for body in (
            b"{not json",
            b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 7}}',
            b"\xff\xfe\x00",
        ):
            stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await stdin.drain()
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["pending"] == 0
        # And it still does its job.
        code, output = run_pytest(calc_project)
        client.protocol.notify(
            protocol.TERMINAL_COMMAND,
            {"commandLine": "pytest", "cwd": str(calc_project), "exitCode": code, "output": output},
        )
        assert "test_precedence" in (await client.next_proposal())["task"]
    finally:
        await client.shutdown_session()


async def test_huge_and_binary_documents_are_tracked_without_their_content(tmp_path: Path, calc_project: Path) -> None:
    log = tmp_path / "log.jsonl"
    client = await start_session(calc_project, log, settings={"maxDocumentBytes": 1_000_000})
    try:
        huge = calc_project / "data.py"
        binary = calc_project / "blob.bin"
        for path, text in ((huge, "x = 1\n" * 400_000), (binary, "\x00\x01PNG" * 1000)):
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(uri=path.as_uri(), language_id="python", version=1, text=text)
                )
            )
            pos = types.Position(line=3, character=0)
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=path.as_uri(), version=2),
                    content_changes=[
                        types.TextDocumentContentChangePartial(range=types.Range(start=pos, end=pos), text="y = 2\n")
                    ],
                )
            )
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri()))
            )
        # A change to a document that was never opened is logged, not fatal.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=(calc_project / "nope.py").as_uri(), version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="z")],
            )
        )
        status = await client.execute(protocol.COMMAND_STATUS)
        assert status["documents"] == 2 and status["proposed"] == 0
        assert read_log(log) == []
    finally:
        await client.shutdown_session()
