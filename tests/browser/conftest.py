"""A headless Chromium driven by Selenium, for the tests that look at pages the way a reader does.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt.txt``; ``make test`` installs them where apt
works) and ``selenium`` (the ``dev`` extra); without them these tests skip, saying which is missing.
The browser starts with a fresh profile and no network features (nothing leaves the machine).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from g2p.bookcheck import browser
from g2p.errors import G2PError


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    # one browser set-up for the tests and `g2p check-book`; a missing browser or selenium skips
    with contextlib.ExitStack() as stack:
        try:
            chrome = stack.enter_context(browser(tmp_path_factory.mktemp("chromium-profile")))
        except G2PError as exc:
            pytest.skip(f"{exc.message} ({exc.hint})" if getattr(exc, "hint", None) else str(exc))
        yield chrome


@pytest.fixture(scope="session")
def smoke_book(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke preset's book, built outside any _build a reader looks at."""
    from g2p import runner

    return runner.build_book("smoke", tmp_path_factory.mktemp("browser-book"))
