"""Every page of the smoke book, opened in headless Chromium as a reader would (g2p.bookcheck): not
blank, no Python traceback, no absolute path of this machine, no warning text or stderr output, every
<img> loaded. Full-page screenshots land in screenshots/smoke/ (git-ignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from g2p import bookcheck, bookpages

pytestmark = pytest.mark.slow


def test_every_page_reads_clean_in_a_browser(driver, smoke_book: Path) -> None:
    shots = bookcheck.screenshots_dir("smoke")
    reports = bookcheck.check_book(driver, smoke_book, shots)
    pages = {r.page for r in reports}
    for page in bookpages.toc_files():  # index.html only forwards to the root page
        assert f"{page}.html" in pages, f"the browser check never opened {page}"
    problems = [f"{r.page}: {p}" for r in reports for p in r.problems]
    assert not problems, "pages a reader should not see like this:\n" + "\n".join(problems)
    assert all(r.screenshot is not None and r.screenshot.stat().st_size > 10_000 for r in reports)
    assert sum(r.images for r in reports) > 0


def test_check_finds_what_it_looks_for(driver, tmp_path: Path) -> None:
    """The check itself fails a page with a traceback, a machine path, a warning and a broken image."""
    html = tmp_path / "html"
    html.mkdir()
    body = ("<p>" + "words " * 60 + "</p><pre>Traceback (most recent call last):\n  File \"x\"</pre>"
            f"<pre>{bookcheck.paths.root}/data/processed/mpo</pre><pre>FutureWarning: soon</pre>"
            "<img src='missing.png'>")
    (html / "index.html").write_text(f"<html><body><main><article>{body}</article></main></body></html>")
    (report,) = bookcheck.check_book(driver, html)
    text = "\n".join(report.problems)
    for expected in ("traceback", "machine path", "warning text", "did not load"):
        assert expected in text, f"the check missed: {expected}\n{text}"
