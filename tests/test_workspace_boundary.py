"""The workspace is a boundary: files outside the roots (symlinks resolved) are treated as excluded
(no content in the history, model requests, recordings, exports), and no proposal points outside."""

from __future__ import annotations

from pathlib import Path

from proactive_ls.lsp import protocol
from proactive_ls.sensing.redaction import Redactor
from tests.lsp_client import eventually, start_session


def test_files_outside_the_roots_and_symlinks_leaving_them_are_excluded(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "src").mkdir(parents=True)
    outside = tmp_path / "elsewhere" / "notes.py"
    outside.parent.mkdir()
    outside.write_text("TOKEN = 'x'\n")
    (root / "src" / "app.py").write_text("x = 1\n")
    (root / "src" / "link.py").symlink_to(outside)
    (root / "linked-dir").symlink_to(outside.parent)
    (root / "src" / "inner.py").symlink_to(root / "src" / "app.py")
    r = Redactor(roots=[root], respect_gitignore=False)
    assert not r.is_excluded((root / "src" / "app.py").as_uri())
    assert not r.is_excluded(root / "src" / "inner.py")  # a link that stays inside
    assert r.is_excluded((root / "src" / "link.py").as_uri())
    assert r.is_excluded(root / "linked-dir" / "notes.py")
    assert r.is_excluded(outside.as_uri())
    assert r.is_excluded("file:///etc/shadow")
    assert r.is_excluded(root / ".." / ".." / "etc" / "passwd")
    assert r.inside_workspace("untitled:Untitled-1")
    assert not r.inside_workspace(Path.home() / ".ssh" / "id_rsa")


def test_a_sibling_folder_sharing_the_roots_name_and_a_symlink_loop_are_outside(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    sibling = tmp_path / "ws2" / "secret.py"  # "ws2" starts with "ws": still another folder
    sibling.parent.mkdir()
    sibling.write_text("TOKEN = 'x'\n")
    (root / "a").symlink_to(root / "b")
    (root / "b").symlink_to(root / "a")  # a loop: resolves to nothing, so it is not inside
    r = Redactor(roots=[root], respect_gitignore=False)
    assert r.is_excluded(sibling)
    assert r.is_excluded(sibling.as_uri())
    assert r.is_excluded(root / "a" / "x.py")
    assert r.is_excluded_many([(root / "a").as_uri(), root / "a", root / "new.py"]) == [True, True, False]


async def test_terminal_output_cannot_make_a_proposal_point_outside_the_workspace(
    tmp_path: Path, calc_project: Path
) -> None:
    client = await start_session(calc_project, tmp_path / "log.jsonl")
    try:
        for target in ("/etc/shadow", str(Path.home() / ".ssh" / "id_rsa"), "../../../../etc/passwd"):
            before = (await client.execute(protocol.COMMAND_STATUS))["triggers"]
            output = (
                "Traceback (most recent call last):\n"
                f'  File "{target}", line 3, in <module>\n'
                "    main()\n"
                "ValueError: bad value\n"
            )
            client.protocol.notify(
                protocol.TERMINAL_COMMAND,
                {"commandLine": "python tool.py", "cwd": str(calc_project), "exitCode": 1, "output": output},
            )

            async def decided(before: int = before) -> dict[str, object] | None:
                status = await client.execute(protocol.COMMAND_STATUS)
                return status if status["triggers"] > before else None

            await eventually(decided, timeout=15)
        inside = calc_project.resolve().as_uri()
        for p in client.proposals:  # offering to show the output is fine; opening the file is not
            places = [(p.get("anchor") or {}).get("uri"), p["operation"].get("uri")]
            assert all(u is None or u.startswith(inside) for u in places), p
    finally:
        await client.shutdown_session()


async def test_the_engine_drops_a_suggestion_that_points_outside(tmp_path: Path) -> None:
    from proactive_ls.config import parse_settings
    from proactive_ls.engine import Engine
    from proactive_ls.events import Observation
    from proactive_ls.proposals import OpenLocation, Range, Suggestion
    from proactive_ls.proposers.base import ProposalContext

    class Pointing:
        name = "pointing"

        def __init__(self) -> None:
            self.target = "file:///etc/shadow"

        async def propose(self, ctx: ProposalContext) -> Suggestion | None:
            return Suggestion(
                task="Open it", message="open?", operation=OpenLocation(uri=self.target, range=Range.line(0))
            )

        async def aclose(self) -> None:
            return None

    root = tmp_path / "ws"
    root.mkdir()
    proposer = Pointing()
    settings = parse_settings({"quietPeriodMs": 100, "minIntervalS": 0, "maxPerHour": 100})
    engine = Engine(settings, proposer, inside=Redactor(roots=[root], respect_gitignore=False).inside_workspace)
    engine.observe(Observation(time=10.0, text="a"), 10.0)
    assert (await engine.tick(11.0)).proposals == []
    assert engine.last_decision == "suppressed: points outside the workspace"
    proposer.target = (root / "app.py").as_uri()
    engine.observe(Observation(time=12.0, text="b"), 12.0)
    assert len((await engine.tick(13.0)).proposals) == 1
