"""Committed notebooks carry no outputs and follow the book's shape (title, one parameters cell, cell
ids, prose that cites the run's numbers)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from g2p import paths

NOTEBOOKS = sorted(paths.notebooks.glob("*.ipynb"))
# a MyST glue role in prose: {glue}`name`, {glue:text}`name:.3f`, {glue:md}`name`
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_clean_and_well_formed(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    assert not with_outputs, f"{path.name}: cells {with_outputs} have outputs; clear them"
    counted = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count is not None]
    assert not counted, f"{path.name}: cells {counted} have an execution_count; set it to null"
    first = nb.cells[0] if nb.cells else None
    assert first is not None and first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{path.name}: the first cell must be a markdown '# Title' cell"
    )
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
    without_id = [i for i, c in enumerate(nb.cells) if not c.get("id")]
    assert not without_id, f"{path.name}: cells {without_id} have no id (nbformat 4.5 needs one per cell)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_prose_cites_the_runs_numbers(path: Path) -> None:
    """Numbers in a chapter's prose come from the run through {glue} roles, not typed in by hand; the
    book build (-W) fails on a cited name the run did not glue."""
    nb = nbformat.read(path, as_version=4)
    cited = {name for c in nb.cells if c.cell_type == "markdown" for name in GLUE_ROLE.findall(c.source)}
    assert len(cited) >= 2, f"{path.name}: the prose cites {sorted(cited)} with {{glue}}; cite at least 2 numbers"


def test_numbered_notebooks_exist() -> None:
    assert sorted(paths.notebooks.glob("[0-9][0-9]_*.ipynb")), "no notebooks/NN_*.ipynb to run"
