"""What the browser tests share: Debian's chromium for Playwright (no browser download) and
where screenshots go.

`make test` installs chromium when it is missing; a test without it fails, saying so, rather
than passing on nothing. Screenshots go to a test's temporary directory, or to
``WX_SCREENSHOTS_DIR`` (`make screenshots` points it at ``deploy/screenshots/``, which the
README shows).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCREENSHOTS_ENV = "WX_SCREENSHOTS_DIR"


def chromium() -> str:
    """The path of Debian's chromium."""
    found = shutil.which("chromium")
    assert found, "the browser tests need Debian's chromium: apt-get install chromium"
    return found


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's chromium, driven by Playwright, closed on exit (a module's `browser` fixture)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium())
        try:
            yield launched
        finally:
            launched.close()


def screenshots(tmp_path: Path) -> Path:
    """The directory a test saves its screenshots in."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    where = Path(chosen) if chosen else tmp_path / "screenshots"
    where.mkdir(parents=True, exist_ok=True)
    return where
