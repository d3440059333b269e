"""A headless Chromium driven by Selenium, for the tests that look at pages the way a reader does.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt.txt``; ``make test`` installs them where apt
works) and ``selenium`` (the ``dev`` extra); without them these tests skip, saying which is missing.
The browser starts with a fresh profile and no network features (nothing leaves the machine).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from g2p.bookcheck import CHROMIUM_FLAGS  # one browser set-up for the tests and `g2p check-book`


def _find(*names: str) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    browser = _find("chromium", "chromium-browser", "google-chrome")
    chromedriver = _find("chromedriver")
    if not browser or not chromedriver:
        pytest.skip("no Chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver; see apt.txt)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    chrome.set_page_load_timeout(60)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="session")
def smoke_book(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke preset's book, built outside any _build a reader looks at."""
    from g2p import runner

    return runner.build_book("smoke", tmp_path_factory.mktemp("browser-book"))
