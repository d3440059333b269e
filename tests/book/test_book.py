"""The book builds with -W from the smoke run; its pages and figures are all there and current."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from g2p import bookpages, exercise_cells, figures, paths, runner

IMG_SRC = re.compile(r"""<img[^>]*?\bsrc=["']([^"']+)["']""", re.IGNORECASE)


@pytest.fixture(scope="module")
def html(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the smoke preset's book, built outside any _build a reader looks at
    out = tmp_path_factory.mktemp("book")
    return runner.build_book("smoke", out)


@pytest.mark.slow
def test_book_has_index_and_one_page_per_chapter(html: Path) -> None:
    assert (html / "index.html").is_file()
    for page in bookpages.toc_files():
        assert (html / f"{page}.html").is_file(), f"no page for {page}"


@pytest.mark.slow
def test_every_figure_referenced_in_the_html_exists(html: Path) -> None:
    checked = 0
    for page in html.rglob("*.html"):
        for src in IMG_SRC.findall(page.read_text(encoding="utf-8")):
            url = urlparse(src)
            if url.scheme in ("http", "https", "data"):
                continue
            target = (page.parent / unquote(url.path)).resolve()
            assert target.is_file(), f"{page.relative_to(html)} shows {src}, which does not exist"
            checked += 1
    assert checked > 0, "the book shows no figures at all"


@pytest.mark.slow
def test_figures_manifest_names_the_run_that_made_the_executed_notebooks(smoke_run: Path) -> None:
    run_of = {}
    for executed in sorted(smoke_run.glob(runner.NOTEBOOK_GLOB)):
        meta = nbformat.read(executed, as_version=4).metadata.get("g2p", {})
        assert meta.get("preset") == "smoke", f"{executed.name} was not made by the smoke run"
        run_of[executed.stem] = meta["run_id"]
    manifest = figures.load_manifest(preset="smoke")
    by_notebook: dict[str, list[dict]] = {}
    for name, entry in manifest.items():
        if entry.get("notebook") in run_of:
            by_notebook.setdefault(entry["notebook"], []).append({**entry, "file": name})
    assert by_notebook, "no figure in figures/manifest.json was written by an executed notebook"
    for notebook, entries in by_notebook.items():
        # a renamed figure may leave an older entry behind; the current run must have written some
        current = [e for e in entries if e["run_id"] == run_of[notebook]]
        assert current, (
            f"figures from {notebook} name runs {sorted({e['run_id'] for e in entries})}, "
            f"not {run_of[notebook]}, the run that executed it"
        )
        for entry in current:
            assert entry["preset"] == "smoke"
            assert (paths.figures_dir("smoke") / entry["file"]).is_file()


@pytest.mark.slow
def test_provenance_page_names_the_run(html: Path, smoke_run: Path) -> None:
    prov = (smoke_run.parent / "provenance.md").read_text()
    assert "| preset | `smoke` |" in prov
    page = (html / "build" / "provenance.html").read_text(encoding="utf-8")
    assert "Raw inputs" in page


@pytest.mark.slow
def test_landing_page_shows_both_papers_headline_rows_from_this_run(html: Path) -> None:
    import pandas as pd

    from g2p.g2pdiff.published import published_metrics
    from g2p.genepheno import published, summary

    page = (html / "book" / "intro.html").read_text(encoding="utf-8")
    assert "Did it reproduce?" in page and "Preset <strong>smoke</strong>" in page
    results = summary.summarise(pd.read_csv(paths.runs / "smoke" / "genepheno" / "results.csv"))
    from g2p import config

    assert set(results["dataset"]) == set(config.resolve("smoke").block("03_evaluate")["datasets"])
    for dataset in results["dataset"].unique():  # every dataset of the run: mpo, hpo, gwas, cafa2
        ours = results[(results["dataset"] == dataset) & (results["name"] == "complete") & (results["bin"] == "All")]
        paper_fmax, paper_auc = published.lookup(dataset, "GenePheno")
        cell = f"{float(ours['fmax'].iloc[0]):.3f} ± {float(ours['fmax_sd'].iloc[0]):.3f} / {paper_fmax:.3f}"
        assert cell in page, f"the landing page lacks GenePheno's {dataset} Fmax cell {cell!r}"
        assert f"/ {paper_auc:.3f}" in page
    metrics = pd.read_csv(paths.runs / "smoke" / "g2pdiffusion" / "metrics.csv")
    ours = metrics.query("method == 'g2pdiffusion' and split == 'test_seen' and k == 1 and metric == 'success_score'")
    paper = published_metrics().query("method == 'G2PDiffusion' and k == 1 and metric == 'success_rate'")
    cell = f"{float(ours['value'].iloc[0]):.3f} / {float(paper['value'].iloc[0]):.3f}"
    assert cell in page, f"the landing page lacks G2PDiffusion's success-rate cell {cell!r}"
    listed = page[page.index('id="chapters"'):]
    listed = listed[:listed.index("</section>")]  # the landing page's own chapter list, not the sidebar
    for chapter in bookpages.toc_files()[1:]:  # hrefs relative to the landing page, book/intro.html
        href = os.path.relpath(chapter, "book")
        assert f'href="{href}.html"' in listed, f"the landing page's chapter list does not link {chapter}"
    assert page.count("<img") >= 2  # one representative figure per paper


@pytest.mark.slow
def test_chapters_have_one_parameters_cell_numbered_figures_and_a_rerun_section(html: Path) -> None:
    for executed in sorted((paths.executed_dir("smoke")).glob(runner.NOTEBOOK_GLOB)):
        page = (html / "build" / "executed" / f"{executed.stem}.html").read_text(encoding="utf-8")
        assert page.count("Parameters of this run (preset smoke)") == 1, f"{executed.stem}: not one parameters cell"
        assert "Rerun this chapter" in page and f'<span class="pre">{executed.stem}</span>' in page
        figures_shown = re.findall(r'<figure class="align-default" id="fig-', page)
        images = [src for src in IMG_SRC.findall(page) if "/figures/" in src or "_images/" in src]
        if images:
            assert figures_shown, f"{executed.stem}: figures are not numbered {{figure}} blocks"
            assert "Fig. " in page
        assert "PosixPath(" not in page, f"{executed.stem} shows a PosixPath"


@pytest.mark.slow
def test_download_button_serves_the_executed_notebook(html: Path) -> None:
    for executed in sorted(paths.executed_dir("smoke").glob(runner.NOTEBOOK_GLOB)):
        page = (html / "build" / "executed" / f"{executed.stem}.html").read_text(encoding="utf-8")
        links = re.findall(r'href="([^"]+\.ipynb)"', page)
        assert links, f"{executed.stem}: no .ipynb download link"
        served = (html / "build" / "executed" / links[0]).resolve()
        expected = exercise_cells.student_view(nbformat.read(executed, as_version=4))
        assert nbformat.read(served, as_version=4) == expected, \
            f"{executed.stem}: the download is not the executed notebook (without solutions)"
        cells = nbformat.read(served, as_version=4).cells
        assert any(c.get("outputs") for c in cells if c.cell_type == "code"), f"{executed.stem}: download has no outputs"
