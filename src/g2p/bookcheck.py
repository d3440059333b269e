"""Every page of a built book, opened in headless Chromium as a reader would, and checked.

``python -m g2p check-book --preset quick`` (or :func:`check_book` with a Selenium driver) opens each
page of ``_build/html`` and reports, per page: blank (almost no text), a Python traceback, an absolute
path of the build machine, warning text (``…Warning:``, ``WARNING``, anything printed to stderr), an
``<img>`` that did not load. A full-page screenshot of each page goes to ``screenshots/<preset>/``
(git-ignored) for a person to look at. Needs Debian's ``chromium`` and ``chromium-driver`` and the
``selenium`` package (the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from g2p import paths
from g2p.errors import G2PError
from g2p.presets import PRESETS

CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1400,1000",
)
SKIP = ("genindex.html", "search.html")
MIN_TEXT = 200  # characters of article text below which a page counts as blank
MAX_SHOT_HEIGHT = 12000  # px; longer pages are cut there

# What the page shows, as the reader sees it (innerText skips folded/hidden content).
PAGE_STATE = """
const main = document.querySelector('article') || document.querySelector('main') || document.body
  || document.documentElement;
const imgs = [...document.querySelectorAll('main img, article img')];
return {
  text: main.innerText,
  allText: main.textContent,
  stderr: [...document.querySelectorAll('.output.stderr, .cell_output .stderr')].map(e => e.textContent.trim()),
  tracebacks: document.querySelectorAll('.output.traceback, .output.error').length,
  images: imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
  height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight),
};
"""
WARNING_TEXT = re.compile(r"[A-Z][a-z]*Warning:|\bWARNING\b|warnings\.warn")  # textContent runs words together
TRACEBACK_TEXT = re.compile(r"Traceback \(most recent call last\)")


def machine_path_pattern(extra: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Absolute paths a reader has no use for: this checkout, the output root, home and temp folders."""
    roots = {str(paths.root), str(paths.output_root), *extra}
    literal = "|".join(re.escape(r) for r in sorted(roots, key=len, reverse=True) if r not in ("", "/"))
    generic = r"(?<![\w.:/])/(?:home|root|tmp|work|Users|mnt|var/folders)/[\w.-]+"
    return re.compile(f"(?:{literal})|{generic}" if literal else generic)


@dataclass
class PageReport:
    page: str
    problems: list[str] = field(default_factory=list)
    images: int = 0
    screenshot: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _redirect(page: Path) -> bool:
    """A page that only forwards the reader (the book's index.html → book/intro.html)."""
    return 'http-equiv="refresh"' in page.read_text(encoding="utf-8", errors="replace")[:2000].lower()


def pages(html: Path) -> list[Path]:
    """Every content page of a built book (not the index of terms, the search page or a redirect)."""
    return sorted(p for p in html.rglob("*.html")
                  if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts) and p.name not in SKIP
                  and not _redirect(p))


def check_page(driver: Any, page: Path, html: Path, screenshots: Path | None = None,
               machine_paths: re.Pattern[str] | None = None) -> PageReport:
    name = page.relative_to(html).as_posix()
    report = PageReport(name)
    driver.get(page.as_uri())
    state = driver.execute_script(PAGE_STATE)
    text = state["text"] or ""
    if len(text.strip()) < MIN_TEXT:
        report.problems.append(f"blank: {len(text.strip())} characters of text")
    if state["tracebacks"] or TRACEBACK_TEXT.search(state["allText"] or ""):
        report.problems.append("shows a Python traceback")
    hit = (machine_paths or machine_path_pattern()).search(state["allText"] or "")
    if hit:
        start = max(0, hit.start() - 40)
        report.problems.append(f"shows a machine path: …{state['allText'][start:hit.end() + 20]!r}…")
    warning = WARNING_TEXT.search(state["allText"] or "")
    if warning:
        start = max(0, warning.start() - 60)
        report.problems.append(f"shows warning text: …{state['allText'][start:warning.end() + 60]!r}…")
    for block in state["stderr"]:
        report.problems.append(f"shows stderr output: {block[:120]!r}")
    broken = [img["src"] for img in state["images"] if not img["ok"]]
    if broken:
        report.problems.append(f"{len(broken)} image(s) did not load: {broken[:3]}")
    report.images = len(state["images"])
    if screenshots is not None:
        report.screenshot = screenshot(driver, screenshots / (name.replace("/", "_").removesuffix(".html") + ".png"),
                                       int(state["height"]))
    return report


def screenshot(driver: Any, target: Path, height: int) -> Path:
    """A full-page PNG (up to :data:`MAX_SHOT_HEIGHT` px): the window is made as tall as the page for
    the shot, at the reader's width, then restored."""
    size = driver.get_window_size()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        driver.set_window_size(size["width"], min(max(height + 150, size["height"]), MAX_SHOT_HEIGHT))
        driver.save_screenshot(str(target))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return target


def _require_built(html: Path) -> None:
    if not (html / "index.html").is_file():
        raise G2PError("no index.html: build the book first", path=html,
                       hint="python -m g2p book --preset P")


def check_book(driver: Any, html: Path, screenshots: Path | None = None) -> list[PageReport]:
    _require_built(html)
    pattern = machine_path_pattern((str(html.parent.parent),))
    return [check_page(driver, page, html, screenshots, pattern) for page in pages(html)]


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[Any]:
    """A headless Chromium with a fresh profile in ``profile`` and no network features."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise G2PError("selenium is not installed", hint="pip install -e '.[dev]'") from exc
    binary = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    chromedriver = shutil.which("chromedriver")
    if not binary or not chromedriver:
        raise G2PError("no Chromium and chromedriver on PATH",
                       hint="Debian: apt-get install chromium chromium-driver (see apt.txt)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshots_dir(preset: str) -> Path:
    """``screenshots/<preset>/`` in the source tree (git-ignored); ``preset`` is a plain name, so the
    folder never lies outside ``screenshots/``."""
    return paths.root / "screenshots" / paths.checked_name(preset, "preset")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="quick", choices=PRESETS,
                        help="names the screenshot folder screenshots/<preset>/ (default: quick)")
    parser.add_argument("--html", type=Path, help="the built book (default: _build/html)")


def main(args: argparse.Namespace) -> int:
    import tempfile

    html = args.html or paths.book_html
    out = screenshots_dir(args.preset)
    _require_built(html)  # before starting a browser
    with tempfile.TemporaryDirectory(prefix="g2p-chromium-") as profile, browser(Path(profile)) as driver:
        reports = check_book(driver, html, out)
    for r in reports:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.page} ({r.images} images)" + "".join(f"\n     {p}" for p in r.problems))
    bad = sum(not r.ok for r in reports)
    print(f"{len(reports)} pages, {bad} with problems; screenshots in {out}", file=sys.stderr)
    return 1 if bad else 0
