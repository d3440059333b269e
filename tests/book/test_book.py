"""The book builds with -W from the smoke run; its pages and figures are all there and current."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from g2p import figures, paths, runner

IMG_SRC = re.compile(r"""<img[^>]*?\bsrc=["']([^"']+)["']""", re.IGNORECASE)


@pytest.fixture(scope="module")
def html(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the smoke preset's book, built outside any _build a reader looks at
    out = tmp_path_factory.mktemp("book")
    return runner.build_book("smoke", out)


@pytest.mark.slow
def test_book_has_index_and_one_page_per_chapter(html: Path) -> None:
    assert (html / "index.html").is_file()
    for page in runner.toc_files():
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
