"""The README's module tree is the code's: every module listed exists, and every module is listed."""

from __future__ import annotations

import re

from g2p import paths

ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[A-Za-z_][\w]*(?:\.py|/))(?:\s|$)")


def readme_modules() -> set[str]:
    """Module paths (relative to src/g2p) from the README's ``src/g2p/`` tree block."""
    text = (paths.root / "README.md").read_text(encoding="utf-8")
    block = text.split("```\nsrc/g2p/\n", 1)[1].split("```", 1)[0]
    listed: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, folder) of the enclosing packages
    for line in block.splitlines():
        match = ENTRY.match(line)
        if not match:
            continue
        indent, name = len(match["indent"]), match["name"]
        folders = [(i, f) for i, f in folders if i < indent]
        prefix = "".join(f for _, f in folders)
        if name.endswith("/"):
            folders.append((indent, name))
        else:
            listed.add(prefix + name)
    return listed


def code_modules() -> set[str]:
    return {p.relative_to(paths.src).as_posix() for p in paths.src.rglob("*.py")
            if "__pycache__" not in p.parts and p.name != "__init__.py"}


def test_every_listed_module_exists() -> None:
    assert readme_modules() - code_modules() == set()


def test_every_module_is_listed() -> None:
    assert code_modules() - readme_modules() == set()


def test_no_module_is_over_500_lines() -> None:
    long = {p.relative_to(paths.src).as_posix(): n for p in paths.src.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
