#!/usr/bin/env python3
"""How often tree-sitter finds a syntax error in a *valid* file, per language.

    scripts/measure-syntax-misparse.py LANGUAGE DIR [DIR...]

Walks the directories for the language's extensions (skipping test data, which holds invalid
files on purpose), parses every file with the grammar proactive-ls uses, and prints how many
had an ERROR or MISSING node. With ``--confirm`` a file counts only when the language's own
compiler accepts it (python: ``compile``; c/cpp: ``gcc -fsyntax-only``), so the rate is a
misparse rate, not a rate of broken files. The figures in docs/evaluation.md come from here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from tree_sitter import Parser

from proactive_ls.sensing.syntax.languages import _EXTENSIONS, load_language

_SKIP = ("testdata", "test_data", "bad_", "badsyntax", "__tests__", "fixtures", "lib2to3/tests", "/tests/data")


def _files(language: str, roots: list[Path]) -> list[Path]:
    suffixes = {s for s, lang in _EXTENSIONS.items() if lang == language}
    found: list[Path] = []
    for root in roots:
        for dirpath, _, names in os.walk(root):
            if any(s in dirpath for s in _SKIP):
                continue
            for name in names:
                if Path(name).suffix in suffixes and ".d." not in name and not name.startswith("bad"):
                    found.append(Path(dirpath) / name)
    return sorted(found)


def _compiler_accepts(language: str, path: Path, text: bytes) -> bool:
    if language == "python":
        try:
            compile(text, str(path), "exec")
        except (SyntaxError, ValueError):
            return False
        return True
    if language in ("c", "cpp"):
        cc = "gcc" if language == "c" else "g++"
        kind = ["-x", "c-header" if path.suffix == ".h" else "c"] if language == "c" else []
        proc = subprocess.run([cc, "-fsyntax-only", *kind, str(path)], capture_output=True, check=False)
        return proc.returncode == 0
    return True


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("language")
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--confirm", action="store_true", help="count only files the compiler accepts")
    ap.add_argument("--limit", type=int, default=3000)
    ap.add_argument("--show", type=int, default=0, help="print the first N misparsed files")
    args = ap.parse_args()
    parser = Parser(load_language(args.language))
    files = _files(args.language, args.dirs)[: args.limit]
    valid = misparsed = 0
    shown = 0
    for path in files:
        text = path.read_bytes()
        if args.confirm and not _compiler_accepts(args.language, path, text):
            continue
        valid += 1
        if parser.parse(text).root_node.has_error:
            misparsed += 1
            if shown < args.show:
                print("misparsed:", path, file=sys.stderr)
                shown += 1
    rate = 100 * misparsed / valid if valid else 0.0
    print(f"{args.language}\t{valid} valid files\t{misparsed} misparsed\t{rate:.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
