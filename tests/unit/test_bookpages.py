"""The stager's page edits (g2p.bookpages) on hand-made notebooks: one parameters cell with the values
used, figure outputs as numbered {figure} blocks, print-only cells folded, a rerun section."""

from __future__ import annotations

import json
from pathlib import Path

from g2p import bookpages, figures


def _code(source: str, tags: list[str] | None = None, outputs: list | None = None) -> dict:
    return {"cell_type": "code", "metadata": {"tags": tags or []}, "source": source, "outputs": outputs or [],
            "execution_count": 1}


def _notebook(*cells: dict) -> dict:
    return {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Title"}, *cells],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_one_parameters_cell_shows_every_value_used_with_the_notebook_comments() -> None:
    defaults = 'preset = "quick"\nseeds = [0, 1, 2]  # one run per seed\nn_boot = 100  # bootstrap replica\n'
    injected = '# Parameters\npreset = "smoke"\nseeds = [0]\n'
    nb = _notebook(_code(defaults, ["parameters"]), _code(injected, ["injected-parameters"]))
    bookpages.one_parameters_cell(nb, "smoke")
    original, shown = nb["cells"][1], nb["cells"][2]
    assert "remove-cell" in original["metadata"]["tags"]
    lines = shown["source"].splitlines()
    assert lines[0].startswith("# Parameters of this run (preset smoke)")
    assert lines[1:] == ['preset = "smoke"', "seeds = [0]  # one run per seed", "n_boot = 100  # bootstrap replica"]


def test_figure_output_becomes_a_numbered_figure_block_with_its_run() -> None:
    meta = {"file": "03_ours_vs_paper.png", "label": figures.label_for("03_ours_vs_paper"), "caption": "Look here.",
            "notebook": "03_evaluate", "preset": "smoke", "run_id": "r1"}
    output = {"output_type": "display_data", "data": {"image/png": "AAAA", "text/plain": "<figure>"},
              "metadata": {figures.METADATA_KEY: meta}}
    nb = _notebook(_code("figures.save(fig, '03_ours_vs_paper')", outputs=[output]))
    bookpages.figures_and_progress(nb)
    data = nb["cells"][1]["outputs"][0]["data"]
    assert "image/png" not in data
    block = data["text/markdown"]
    assert block.startswith("```{figure} /figures/03_ours_vs_paper.png\n:name: fig-03-ours-vs-paper\n")
    assert "Look here." in block and "notebook 03_evaluate, preset smoke, run `r1`" in block


def test_print_only_cells_are_folded_and_progress_widgets_dropped() -> None:
    stream = {"output_type": "stream", "name": "stdout", "text": "mpo: loading\n"}
    widget = {"output_type": "display_data", "metadata": {},
              "data": {bookpages.WIDGET_VIEW: {"model_id": "x"}, "text/plain": "epoch 1/4:   0%|"}}
    glued = {"output_type": "display_data", "metadata": {}, "data": {bookpages.RECORD_PREFIX + "text/plain": "1"}}
    table = {"output_type": "execute_result", "metadata": {}, "data": {"text/html": "<table/>", "text/plain": "t"},
             "execution_count": 1}
    nb = _notebook(_code("a", outputs=[stream, widget, stream, glued]), _code("b", outputs=[stream, table]))
    bookpages.figures_and_progress(nb)
    progress, mixed = nb["cells"][1], nb["cells"][2]
    assert bookpages.FOLD_TAG in progress["metadata"]["tags"]
    assert all(bookpages.WIDGET_VIEW not in o.get("data", {}) for o in progress["outputs"])
    assert bookpages.FOLD_TAG not in mixed["metadata"]["tags"]  # a table is worth showing


def test_rerun_section_names_each_preset_and_the_measured_time(tmp_path: Path) -> None:
    executed = tmp_path / "smoke" / "executed"
    executed.mkdir(parents=True)
    (executed / "01_data_curation.ipynb").write_text(json.dumps({"metadata": {"g2p": {"seconds": 23.4}}}))
    nb = bookpages.prepare(_notebook(), "01_data_curation", "smoke", tmp_path)
    nb = bookpages.prepare(nb, "01_data_curation", "smoke", tmp_path)  # staged twice: still one section
    reruns = [c for c in nb["cells"] if bookpages.RERUN_TAG in c["metadata"].get("tags", [])]
    assert len(reruns) == 1 and reruns[0] is nb["cells"][-1]
    text = reruns[0]["source"]
    assert "python -m g2p run --preset smoke --only 01_data_curation --force` | 23 s (this page)" in text
    assert "--preset quick --only 01_data_curation --force` | not run here yet" in text


def test_a_progress_log_beside_a_table_moves_to_a_folded_output_after_it() -> None:
    log = {"output_type": "stream", "name": "stdout", "text": "[mpo] seed 0\n[mpo] seed 1\n[hpo] seed 0\n"}
    table = {"output_type": "execute_result", "metadata": {}, "data": {"text/html": "<table/>", "text/plain": "t"},
             "execution_count": 1}
    cell = _code("run()", outputs=[log, table])
    cell["id"] = "abc"
    nb = _notebook(cell)
    bookpages.figures_and_progress(nb)
    assert nb["cells"][1]["outputs"] == [table]
    folded = nb["cells"][2]
    assert folded["id"] == "abc-log" and folded["outputs"] == [log]
    assert {"remove-input", bookpages.FOLD_TAG} <= set(folded["metadata"]["tags"])
