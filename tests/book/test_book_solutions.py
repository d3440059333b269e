"""The book is safe to give to students: no solution and no hidden check appears on its pages or in the
notebooks its download buttons serve (while the executed chapters themselves do have them)."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import nbformat
import pytest

from g2p import exercise_cells, paths, runner

pytestmark = pytest.mark.slow


def _secret_lines() -> dict[str, list[str]]:
    """Per chapter, the distinctive lines of its solution regions and hidden checks."""
    secrets: dict[str, list[str]] = {}
    for notebook in runner.discover(paths.notebooks):
        nb = nbformat.read(notebook, as_version=4)
        lines: list[str] = []
        for cell in nb.cells:
            if exercise_cells.is_hidden_check(cell):
                lines += cell.source.splitlines()
            elif exercise_cells.has_solution(cell):
                inside = False
                for line in cell.source.splitlines():
                    if line.strip() in (exercise_cells.BEGIN, exercise_cells.END):
                        inside = line.strip() == exercise_cells.BEGIN
                    elif inside:
                        lines.append(line)
        visible = "\n".join(c.source for c in exercise_cells.student_view(nb)["cells"])  # the chapter's own code
        secrets[notebook.stem] = sorted(s for s in {line.strip() for line in lines} if len(s) >= 16 and s not in visible)
    return secrets


@pytest.fixture(scope="module")
def html(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runner.build_book("smoke", tmp_path_factory.mktemp("book"))


def _text(page: Path) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_no_solution_or_hidden_check_in_the_student_facing_book(html: Path, smoke_run: Path) -> None:
    secrets = _secret_lines()
    assert sum(map(len, secrets.values())) >= 30, "too few solution lines to make the test mean something"
    for stem, lines in secrets.items():
        executed = (smoke_run / f"{stem}.ipynb").read_text()
        executed_text = "\n".join(c.source for c in nbformat.reads(executed, as_version=4).cells)
        assert all(line in executed_text for line in lines), f"{stem}: the executed chapter lacks its solutions"
        page = _text(html / "build" / "executed" / f"{stem}.html")
        download = (html / "_sources" / "build" / "executed" / f"{stem}.ipynb").read_text()
        served = "\n".join(c.source for c in nbformat.reads(download, as_version=4).cells)
        for line in lines:
            assert line not in page, f"{stem}: the page shows {line!r}"
            assert line not in served, f"{stem}: the download serves {line!r}"
        assert "raise NotImplementedError" in page, f"{stem}: the page does not show the exercise stubs"
